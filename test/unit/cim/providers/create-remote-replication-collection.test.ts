/** Every return path of CreateRemoteReplicationCollection (0, 4096 -> 7, 4096 -> 10, 4, 5, 6). */
import t from 'tap';
import type { RawValue } from '../../../../src/cim/cimxml/parse.ts';
import { startCimServer } from '../../../../src/cim/index.ts';
import { endpointPath, systemPath } from '../../../../src/cim/model/paths.ts';
import { CimClient } from '../../../../src/cim/client/client.ts';
import { getKey, type ObjectPath } from '../../../../src/cim/types.ts';
import { fakeView } from '../support/fake-view.ts';
import { IQN_A, startTwoSystems } from '../support/two-systems.ts';

function ref(v: RawValue | undefined): ObjectPath {
  if (v?.kind !== 'ref') throw new Error(`expected a reference, got ${v?.kind}`);
  return v.path;
}

t.test('CreateRemoteReplicationCollection', async (t) => {
  const s = await startTwoSystems();
  t.teardown(() => s.close());

  await t.test('0: only local access points and the system, no probe; ConnectivityCollection out, no Job', async (t) => {
    const r = await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { ElementName: 'local-only', LocalAccessPoints: [s.epA], RemoteComputerSystem: s.sysB, DeleteOnUnassociated: true });
    t.equal(r.returnValue, 0);
    t.notOk(r.out.Job, 'no Job on 0');
    const c = ref(r.out.ConnectivityCollection);
    const inst = await s.client.getInstance(c);
    t.match(inst.properties.find((p) => p.name === 'ElementName')?.value, { text: 'local-only' });
    t.match(inst.properties.find((p) => p.name === 'Active')?.value, { text: 'TRUE' });
    // Give the local endpoint back for the next cases.
    t.equal((await s.client.invokeMethod(s.service, 'RemoveFromRemoteReplicationCollection', { LocalAccessPoints: [s.epA], ConnectivityCollection: c })).returnValue, 0);
    await t.rejects(s.client.getInstance(c), { code: 6 }, 'DeleteOnUnassociated removed the emptied collection');
  });

  await t.test('4096: remote portal probed by discovery login, job Completed, AffectedJobElement -> collection', async (t) => {
    const r = await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { ElementName: 'probe-ok', LocalAccessPoints: [s.epA], RemoteAccessPoints: [s.epB1], RemoteComputerSystem: s.sysB, Active: true });
    t.equal(r.returnValue, 4096);
    t.notOk(r.out.ConnectivityCollection, 'collection reported through the job, not as out parameter');
    const job = ref(r.out.Job);
    t.match(String(getKey(job, 'InstanceID')), /^ISCSISIM:JOB-\d+$/);
    t.equal(await s.finish(job), 7);
    const inst = await s.client.getInstance(job);
    const get = (n: string) => inst.properties.find((p) => p.name === n)?.value;
    t.same(get('OperationalStatus'), { kind: 'array', items: ['2', '17'] });
    t.match(get('PercentComplete'), { text: '100' });
    t.match(get('TimeBeforeRemoval'), { text: '00000000000500.000000:000' });
  });

  await t.test('4096 then Exception: a remote portal refuses connections', async (t) => {
    const r = await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { ElementName: 'probe-refused', RemoteAccessPoints: [s.epB2Refused], RemoteComputerSystem: s.sysB });
    t.equal(r.returnValue, 4096);
    const job = ref(r.out.Job);
    t.equal(await s.finish(job), 10);
    const inst = await s.client.getInstance(job);
    const get = (n: string) => inst.properties.find((p) => p.name === n)?.value;
    t.same(get('OperationalStatus'), { kind: 'array', items: ['6', '17'] });
    t.match(get('ErrorCode'), { text: '4' });
    t.match(get('ErrorDescription'), { text: /ECONNREFUSED/ });
    const err = await s.client.invokeMethod(job, 'GetError', {});
    t.equal(err.returnValue, 0);
    t.match(err.out.Error, { kind: 'value', text: /CIM_Error.*ECONNREFUSED/s });
    t.equal((await s.client.invokeMethod(job, 'RequestStateChange', { RequestedState: 4 })).returnValue, 4097, 'a finished job cannot be terminated');
  });

  await t.test('5: a local access point that is not ours, an unknown peer, a remote point of another system', async (t) => {
    const notOurs = endpointPath('sysa', 'iqn.2026-01.nowhere:x,t,0x1');
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { LocalAccessPoints: [notOurs] })).returnValue, 5);
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { RemoteComputerSystem: systemPath('sysz') })).returnValue, 5);
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { RemoteAccessPoints: [s.epA], RemoteComputerSystem: s.sysB })).returnValue, 5, 'a local endpoint is not a remote one');
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { LocalAccessPoints: [s.epB1] })).returnValue, 5, 'a remote endpoint is not a local one');
  });

  await t.test('6: an access point already in another active collection', async (t) => {
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { LocalAccessPoints: [s.epA] })).returnValue, 6);
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { RemoteAccessPoints: [s.epB1], RemoteComputerSystem: s.sysB })).returnValue, 6);
  });

  await t.test('percent-encoded key values (wbemcli workaround) resolve to the same endpoint', async (t) => {
    const encoded = endpointPath('sysa', `${IQN_A},t,0x1`.replace(/\./g, '%2E').replace(/,/g, '%2C'));
    t.equal((await s.client.invokeMethod(s.service, 'CreateRemoteReplicationCollection', { LocalAccessPoints: [encoded] })).returnValue, 6, 'recognised (and in use)');
  });
});

t.test('4: the peer CIM server cannot be reached to check remote references', async (t) => {
  const a = await startCimServer(fakeView({ name: 'lonely', peers: [{ name: 'gone', cimUrl: 'http://127.0.0.1:9/' }] }), { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false, peerTimeoutMs: 500 });
  t.teardown(() => a.close());
  const client = new CimClient({ url: a.url });
  const r = await client.invokeMethod({ className: 'MSISCSITARGET_ReplicationService', namespace: 'root/cimv2/storage/iscsitarget', keys: {} }, 'CreateRemoteReplicationCollection', {
    RemoteAccessPoints: [endpointPath('gone', 'iqn.x:y,t,0x1')], RemoteComputerSystem: systemPath('gone'),
  });
  t.equal(r.returnValue, 4);
});
