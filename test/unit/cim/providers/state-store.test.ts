import t from 'tap';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { JobManager } from '../../../../src/cim/providers/jobs.ts';
import { CimStateStore, type CollectionRecord } from '../../../../src/cim/providers/state-store.ts';

function collection(instanceId: string, localAccessPoints: string[] = []): CollectionRecord {
  return { instanceId, elementName: instanceId, active: true, deleteOnUnassociated: false, connectivityStatus: 0, localAccessPoints, remoteAccessPoints: [], remoteSystems: [] };
}

/** A directory where the state file belongs makes the final rename fail (EISDIR), as a full or broken disk would. */
function breakStateFile(dir: string): void {
  rmSync(join(dir, 'cim-state.json'), { force: true });
  mkdirSync(join(dir, 'cim-state.json'));
}

// Before: a failed save was logged and the method that changed a collection still reported success.
t.test('a failed save rejects naming the file, undoes the change and stays visible until a save succeeds', async (t) => {
  const dir = t.testdir();
  const store = new CimStateStore(dir, 's');
  await store.change(() => store.collections.set('a', collection('a', ['ep1'])));
  breakStateFile(dir);

  await t.rejects(store.change(() => {
    store.collections.set('b', collection('b'));
    store.collections.get('a')!.localAccessPoints.push('ep2');
    store.collections.delete('a');
  }), { name: 'StatePersistError', message: /cim-state\.json: EISDIR/ });
  t.same([...store.collections.keys()], ['a'], 'the added collection is gone and the deleted one is back');
  t.same(store.collections.get('a')?.localAccessPoints, ['ep1'], 'the changed member list is restored');
  t.match(store.persistProblem(), /CIM state not saved to .*cim-state\.json: EISDIR/);
  t.same(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temp file left behind');

  rmSync(join(dir, 'cim-state.json'), { recursive: true });
  await store.save();
  t.equal(store.persistProblem(), undefined, 'a later successful save clears the problem');
  const reloaded = new CimStateStore(dir, 's');
  await reloaded.load();
  t.same([...reloaded.collections.keys()], ['a']);
});

t.test('job saves nobody waits on keep the problem visible; the next save after a failure still runs', async (t) => {
  const dir = t.testdir();
  const store = new CimStateStore(dir, 's');
  breakStateFile(dir);
  const jobs = new JobManager(store);
  const { job } = jobs.start('CreateRemoteReplicationCollection', 'x');
  await t.rejects(store.save(), { name: 'StatePersistError' });
  t.match(store.persistProblem(), /EISDIR/);
  rmSync(join(dir, 'cim-state.json'), { recursive: true });
  jobs.complete(job, []);
  await store.save();
  t.equal(store.persistProblem(), undefined);
  t.ok(existsSync(join(dir, 'cim-state.json')));
});

t.test('through CIM: a change that cannot be saved fails naming the file and is not there afterwards', async (t) => {
  const { startCimServer } = await import('../../../../src/cim/index.ts');
  const { CimClient } = await import('../../../../src/cim/client/client.ts');
  const { servicePath } = await import('../../../../src/cim/model/paths.ts');
  const { fakeView } = await import('../support/fake-view.ts');
  const { errorCode, imethod, instanceNameXml, NS, post } = await import('../support/raw.ts');
  const dir = t.testdir();
  const server = await startCimServer(fakeView({ name: 'sysa', stateDir: dir }), { enabled: true, address: '127.0.0.1', port: 0 });
  t.teardown(() => server.close().catch(() => undefined));
  const client = new CimClient({ url: server.url });
  const kept = await client.invokeMethod(servicePath('sysa'), 'CreateRemoteReplicationCollection', { ElementName: 'kept' });
  t.equal(kept.returnValue, 0);
  breakStateFile(dir);

  const refused = await client.invokeMethod(servicePath('sysa'), 'CreateRemoteReplicationCollection', { ElementName: 'lost' });
  t.equal(refused.returnValue, 4, 'Failed, not OK');
  t.match(JSON.stringify(refused.out.ErrorDescription), /CIM state not saved to .*cim-state\.json: EISDIR/);
  t.match(server.persistProblem(), /EISDIR/);
  const names = (await client.enumerateInstances(NS, 'CIM_RemoteReplicationCollection')).map((c) => JSON.stringify(c.instance.properties.find((p) => p.name === 'ElementName')?.value));
  t.same(names, [JSON.stringify({ kind: 'value', text: 'kept' })], 'the refused collection does not exist');

  const renamed = `<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>${instanceNameXml('MSISCSITARGET_RemoteReplicationCollection', { InstanceID: 'ISCSISIM:sysa:RRC-1' })}<INSTANCE CLASSNAME="MSISCSITARGET_RemoteReplicationCollection"><PROPERTY NAME="ElementName" TYPE="string"><VALUE>renamed</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE>`;
  const modify = await post(server.url, imethod(NS, 'ModifyInstance', renamed), { CIMMethod: 'ModifyInstance', CIMObject: NS });
  t.equal(errorCode(modify.text), 1, 'ModifyInstance answers CIM_ERR_FAILED');
  t.match(modify.text, /cim-state\.json: EISDIR/);
  const after = (await client.enumerateInstances(NS, 'CIM_RemoteReplicationCollection')).map((c) => JSON.stringify(c.instance.properties.find((p) => p.name === 'ElementName')?.value));
  t.same(after, [JSON.stringify({ kind: 'value', text: 'kept' })], 'the name is unchanged');

  rmSync(join(dir, 'cim-state.json'), { recursive: true });
  t.equal((await client.invokeMethod(servicePath('sysa'), 'CreateRemoteReplicationCollection', { ElementName: 'later' })).returnValue, 0);
  t.equal(server.persistProblem(), undefined);
});
