/** AddToRemoteReplicationCollection (0, 4096, 4096->10, 5, 6) and RemoveFromRemoteReplicationCollection. */
import t from 'tap';
import type { RawValue } from '../../../../src/cim/cimxml/parse.ts';
import { collectionPath, endpointPath } from '../../../../src/cim/model/paths.ts';
import type { ObjectPath } from '../../../../src/cim/types.ts';
import { startTwoSystems } from '../support/two-systems.ts';

function ref(v: RawValue | undefined): ObjectPath {
  if (v?.kind !== 'ref') throw new Error(`expected a reference, got ${v?.kind}`);
  return v.path;
}

t.test('AddTo / RemoveFrom RemoteReplicationCollection', async (t) => {
  const s = await startTwoSystems();
  t.teardown(() => s.close());
  const created = await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { ElementName: 'empty' });
  t.equal(created.returnValue, 0, 'an empty collection needs no probe');
  const c = ref(created.out.ConnectivityCollection);

  await t.test('5: ConnectivityCollection missing or unknown', async (t) => {
    t.equal((await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { LocalAccessPoints: [s.epA] })).returnValue, 5);
    t.equal((await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { LocalAccessPoints: [s.epA], ConnectivityCollection: collectionPath('ISCSISIM:nope') })).returnValue, 5);
  });

  await t.test('0: NULL RemoteAccessPoints adds only the system (and local points)', async (t) => {
    t.equal((await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { LocalAccessPoints: [s.epA], RemoteComputerSystem: s.sysB, ConnectivityCollection: c })).returnValue, 0);
  });

  await t.test('5: a remote access point of a system not in the collection nor named', async (t) => {
    const other = endpointPath('sysz', 'iqn.x:y,t,0x1');
    t.equal((await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { RemoteAccessPoints: [other], ConnectivityCollection: c })).returnValue, 5);
  });

  await t.test('4096: NULL RemoteComputerSystem adds access points of systems already in the collection', async (t) => {
    const r = await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { RemoteAccessPoints: [s.epB1], ConnectivityCollection: c });
    t.equal(r.returnValue, 4096);
    t.equal(await s.finish(ref(r.out.Job)), 7);
  });

  await t.test('4096 -> Exception when the remote portal refuses connections; nothing added', async (t) => {
    const r = await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { RemoteAccessPoints: [s.epB2Refused], ConnectivityCollection: c });
    t.equal(r.returnValue, 4096);
    t.equal(await s.finish(ref(r.out.Job)), 10);
  });

  await t.test('6: adding a point held by another active collection', async (t) => {
    const other = await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { ElementName: 'other' });
    const o = ref(other.out.ConnectivityCollection);
    t.equal((await s.client.invokeMethod(s.service, 'AddToRemoteReplicationCollection', { LocalAccessPoints: [s.epA], ConnectivityCollection: o })).returnValue, 6);
  });

  await t.test('RemoveFrom: 5 for a point not in the collection, 0 otherwise; removing the system drops its points', async (t) => {
    t.equal((await s.client.invokeMethod(s.service, 'RemoveFromRemoteReplicationCollection', { RemoteAccessPoints: [s.epB2Refused], ConnectivityCollection: c })).returnValue, 5);
    t.equal((await s.client.invokeMethod(s.service, 'RemoveFromRemoteReplicationCollection', { RemoteComputerSystem: s.sysB, ConnectivityCollection: c })).returnValue, 0);
    const inst = await s.client.getInstance(c);
    t.ok(inst, 'collection kept (DeleteOnUnassociated false, local point left)');
  });
});

t.test('GetPeerSystems, GetServiceAccessPoints, replica methods without an engine', async (t) => {
  const s = await startTwoSystems();
  t.teardown(() => s.close());
  const peers = await s.client.invokeMethod(s.service, 'GetPeerSystems', {});
  t.equal(peers.returnValue, 0);
  t.match(peers.out.Systems, { kind: 'refarray', paths: [{ keys: { Name: 'sysb' } }] });
  const withPoints = await s.client.invokeMethod(s.service, 'GetPeerSystems', { Options: 3 });
  t.equal(withPoints.returnValue, 0);
  t.match(withPoints.out.RemoteAccessPoints, { kind: 'refarray', paths: [{ keys: { SystemName: 'sysb' } }, { keys: { SystemName: 'sysb' } }] });
  t.equal((await s.client.invokeMethod(s.service, 'GetPeerSystems', { Options: 9 })).returnValue, 5);
  const sap = await s.client.invokeMethod(s.service, 'GetServiceAccessPoints', { System: s.sysB });
  t.match(sap.out.ServiceAccessPoints, { kind: 'refarray', paths: [{ keys: { SystemName: 'sysb' } }, { keys: { SystemName: 'sysb' } }] });
  const mine = await s.client.invokeMethod(s.service, 'GetServiceAccessPoints', { System: { className: 'MSISCSITARGET_ComputerSystem', keys: { CreationClassName: 'MSISCSITARGET_ComputerSystem', Name: 'sysa' } } });
  t.match(mine.out.ServiceAccessPoints, { kind: 'refarray', paths: [{ keys: { SystemName: 'sysa' } }] });
  t.equal((await s.client.invokeMethod(s.service, 'CreateElementReplica', { SyncType: 6, SourceElement: s.epA })).returnValue, 1);
  t.equal((await s.client.invokeMethod(s.service, 'GetReplicationRelationships', {})).returnValue, 1);
});
