/** CreateElementReplica / ModifyReplicaSynchronization / GetReplicationRelationships over a fake engine. */
import t from 'tap';
import { CimClient } from '../../../../src/cim/client/client.ts';
import type { RawValue } from '../../../../src/cim/cimxml/parse.ts';
import { startCimServer } from '../../../../src/cim/index.ts';
import { CLS, servicePath, volumePath } from '../../../../src/cim/model/paths.ts';
import type { CreateReplicaRequest, ReplicationEngine, SynchronizationView } from '../../../../src/cim/providers/replication-engine.ts';
import type { ObjectPath } from '../../../../src/cim/types.ts';
import { waitFor } from '../../../support/wait-for.ts';
import { fakeView } from '../support/fake-view.ts';
import { classParam, imethod, instanceNameXml, NS, post } from '../support/raw.ts';

function ref(v: RawValue | undefined): ObjectPath {
  if (v?.kind !== 'ref') throw new Error(`expected a reference, got ${v?.kind}`);
  return v.path;
}

class FakeEngine implements ReplicationEngine {
  readonly supportedReplicationTypes = [4, 5];
  readonly supportedOperations = [12, 16];
  readonly syncs: SynchronizationView[] = [];
  requests: CreateReplicaRequest[] = [];
  finishSync: (() => void) | undefined;

  synchronizations(): readonly SynchronizationView[] {
    return this.syncs;
  }

  createElementReplica(req: CreateReplicaRequest) {
    this.requests.push(req);
    const view: SynchronizationView = { source: req.source, target: volumePath('sysb', '600140500000000b'), mode: req.mode ?? 3, copyState: 2, syncState: 15, percentSynced: 0 };
    this.syncs.push(view);
    const completion = new Promise<void>((resolve) => {
      this.finishSync = () => {
        this.syncs[0] = { ...view, copyState: 4, syncState: 6, percentSynced: 100, whenSynced: Date.now(), epochsBehind: 2, bytesBehind: 8192, rpoSeconds: 0.04 };
        resolve();
      };
    });
    return Promise.resolve({ returnValue: 4096, completion, synchronization: { className: CLS.synchronized, keys: { SystemElement: view.source, SyncedElement: view.target } } });
  }

  modifyReplicaSynchronization() {
    return Promise.resolve({ returnValue: 0 });
  }
}

t.test('replica methods delegate to the registered engine', async (t) => {
  const view = fakeView({ name: 'sysa' });
  const server = await startCimServer(view, { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false });
  t.teardown(() => server.close());
  const client = new CimClient({ url: server.url, timeoutMs: 60_000 });
  const svc = servicePath('sysa');
  const source = volumePath('sysa', view.targets[0].luns[0].naa);

  t.equal((await client.invokeMethod(svc, 'CreateElementReplica', { SyncType: 6, SourceElement: source })).returnValue, 1, 'Not Supported before an engine registers');
  const engine = new FakeEngine();
  server.setReplicationEngine(engine);

  t.equal((await client.invokeMethod(svc, 'CreateElementReplica', { SourceElement: source })).returnValue, 5, 'SyncType is required');
  t.equal((await client.invokeMethod(svc, 'CreateElementReplica', { SyncType: 8, SourceElement: source })).returnValue, 1, 'only Mirror');
  t.equal((await client.invokeMethod(svc, 'CreateElementReplica', { SyncType: 6, Mode: 7, SourceElement: source })).returnValue, 5);

  const r = await client.invokeMethod(svc, 'CreateElementReplica', { SyncType: 6, Mode: 2, SourceElement: source });
  t.equal(r.returnValue, 4096);
  t.equal(engine.requests[0].mode, 2);
  const job = ref(r.out.Job);
  const state = async (): Promise<string> => {
    const inst = await client.getInstance(job);
    const v = inst.properties.find((p) => p.name === 'JobState')?.value;
    return v?.kind === 'value' ? v.text : '';
  };
  t.equal(await state(), '4', 'running until the engine reports Synchronized');
  const rel = await client.invokeMethod(svc, 'GetReplicationRelationships', { SyncType: 6 });
  t.equal(rel.returnValue, 0);
  t.match(rel.out.Synchronizations, { kind: 'refarray', paths: [{ className: CLS.synchronized }] });
  engine.finishSync?.();
  t.ok(await waitFor(async () => (await state()) !== '4', 60_000), 'the job left Running once the engine reported Synchronized');
  t.equal(await state(), '7');

  const ss = await client.enumerateInstances('root/cimv2/storage/iscsitarget', 'CIM_StorageSynchronized');
  t.equal(ss.length, 1);
  const prop = (n: string) => ss[0].instance.properties.find((p) => p.name === n)?.value;
  t.match(prop('CopyState'), { text: '4' });
  t.match(prop('SyncState'), { text: '6' });
  t.match(prop('Mode'), { text: '2' });
  t.match(prop('BytesBehind'), { text: '8192' });
  t.match(prop('RPOSeconds'), { text: '0.04' });

  const caps = await client.enumerateInstances('root/cimv2/storage/iscsitarget', 'CIM_ReplicationServiceCapabilities');
  const capProp = (n: string) => caps[0].instance.properties.find((p) => p.name === n)?.value;
  t.same(capProp('SupportedAsynchronousActions'), { kind: 'array', items: ['2', '5', '23', '24'] });

  const assoc = await post(server.url, imethod(NS, 'AssociatorNames', `<IPARAMVALUE NAME="ObjectName">${instanceNameXml(CLS.job, { InstanceID: String(job.keys.InstanceID) })}</IPARAMVALUE>${classParam('AssocClass', 'CIM_AffectedJobElement')}`));
  t.match(assoc.text, /INSTANCENAME CLASSNAME="MSISCSITARGET_StorageSynchronized"/, 'the job leads to the new StorageSynchronized');
  t.equal((await client.invokeMethod(svc, 'ModifyReplicaSynchronization', { Operation: 12, Synchronization: ss[0].path })).returnValue, 0, 'Fracture');
  t.equal((await client.invokeMethod(svc, 'ModifyReplicaSynchronization', { Operation: 20, Synchronization: ss[0].path })).returnValue, 1, 'operation the engine does not offer');
  const ghost = { className: CLS.synchronized, keys: { SystemElement: source, SyncedElement: volumePath('sysz', '1') } };
  t.equal((await client.invokeMethod(svc, 'ModifyReplicaSynchronization', { Operation: 12, Synchronization: ghost })).returnValue, 5);
});

// Issue 12: SyncedElement named the peer's volume with this server as HOST (gi of it: CIM_ERR_NOT_FOUND).
t.test('references to the peer\'s volume carry the peer\'s CIM server as host', async (t) => {
  const engine = new FakeEngine();
  engine.syncs.push({ source: volumePath('sysa', '6001405000000000a'), target: volumePath('sysb', '600140500000000b'), mode: 3, copyState: 4, syncState: 6, percentSynced: 100 });
  const view = fakeView({ name: 'sysa', peers: [{ name: 'sysb', cimUrl: 'http://127.0.0.1:15989' }] });
  const server = await startCimServer(view, { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false, engine, peerRefreshMs: 3_600_000, peerTimeoutMs: 1000 });
  t.teardown(() => server.close());
  const client = new CimClient({ url: server.url, timeoutMs: 60_000 });
  const [sync] = await client.enumerateInstances(NS, CLS.synchronized);
  const synced = sync.path.keys.SyncedElement as ObjectPath;
  const source = sync.path.keys.SystemElement as ObjectPath;
  t.equal(synced.host, '127.0.0.1:15989', 'SyncedElement: the peer\'s server');
  t.equal(source.host, new URL(server.url).host, 'SystemElement: this server');
  const relationships = await client.invokeMethod({ ...servicePath('sysa'), namespace: NS }, 'GetReplicationRelationships', {});
  const listed = relationships.out.Synchronizations;
  t.equal(listed?.kind === 'refarray' ? (listed.paths[0].keys.SyncedElement as ObjectPath).host : undefined, '127.0.0.1:15989', 'GetReplicationRelationships too');
});
