import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobManager } from '../../../../src/cim/providers/jobs.ts';
import { CimStateStore } from '../../../../src/cim/providers/state-store.ts';

t.test('jobs: complete, fail, terminate, sweep after TimeBeforeRemoval', async (t) => {
  let now = 1_000_000;
  const store = new CimStateStore(undefined, 's');
  const jobs = new JobManager(store, () => now);
  const a = jobs.start('M', 'a').job;
  t.equal(a.instanceId, 'ISCSISIM:JOB-1');
  t.equal(a.jobState, 4);
  jobs.complete(a, ['c1']);
  t.same([a.jobState, a.operationalStatus, a.percentComplete], [7, [2, 17], 100]);
  const b = jobs.start('M', 'b');
  jobs.fail(b.job, 4, 'boom');
  t.same([b.job.jobState, b.job.operationalStatus, b.job.errorDescription], [10, [6, 17], 'boom']);
  const c = jobs.start('M', 'c');
  t.equal(jobs.terminate(c.job), 0);
  t.ok(c.signal.aborted, 'terminating aborts the running work');
  t.equal(c.job.jobState, 8);
  t.equal(jobs.terminate(c.job), 4097);
  now += 5 * 60_000 - 1;
  jobs.sweep();
  t.equal(store.jobs.size, 3, 'kept until TimeBeforeRemoval');
  now += 1;
  jobs.sweep();
  t.equal(store.jobs.size, 0);
});

t.test('state persists atomically; running jobs end in Exception after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cim-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new CimStateStore(dir, 's');
  const jobs = new JobManager(store);
  store.collections.set('x', { instanceId: 'x', elementName: 'x', active: true, deleteOnUnassociated: false, connectivityStatus: 2, localAccessPoints: ['ep'], remoteAccessPoints: [], remoteSystems: ['p'] });
  jobs.start('CreateRemoteReplicationCollection', 'x');
  await store.save();
  t.ok(JSON.parse(readFileSync(join(dir, 'cim-state.json'), 'utf8')).collections.length === 1);

  const again = new CimStateStore(dir, 's');
  await again.load();
  const recovered = new JobManager(again);
  recovered.recoverAfterRestart();
  t.equal(again.collections.get('x')?.remoteSystems[0], 'p');
  const job = again.jobs.get('ISCSISIM:JOB-1');
  t.equal(job?.jobState, 10);
  t.match(job?.errorDescription, /restart/);
  t.equal(recovered.start('M', 'next').job.instanceId, 'ISCSISIM:JOB-2', 'job numbers continue');
});

t.test('an unreadable state file stops loading, naming the file (issue 8); a missing one is a fresh start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cim-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = new CimStateStore(dir, 's');
  await fresh.load();
  t.equal(fresh.collections.size, 0);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'cim-state.json'), '{not json');
  await t.rejects(new CimStateStore(dir, 's').load(), { name: 'StateFileError', message: /cim-state\.json/ });
});

t.test('a restarted CIM server finds its collections and jobs again', async (t) => {
  const { startCimServer } = await import('../../../../src/cim/index.ts');
  const { CimClient } = await import('../../../../src/cim/client/client.ts');
  const { servicePath } = await import('../../../../src/cim/model/paths.ts');
  const { fakeView } = await import('../support/fake-view.ts');
  const dir = mkdtempSync(join(tmpdir(), 'cim-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const view = fakeView({ name: 'sysa', stateDir: dir });
  const first = await startCimServer(view, { enabled: true, address: '127.0.0.1', port: 0 });
  const created = await new CimClient({ url: first.url }).invokeMethod(servicePath('sysa'), 'CreateRemoteReplicationCollection', { ElementName: 'kept' });
  t.equal(created.returnValue, 0);
  await first.close();
  const second = await startCimServer(view, { enabled: true, address: '127.0.0.1', port: 0 });
  t.teardown(() => second.close());
  const list = await new CimClient({ url: second.url }).enumerateInstances('root/cimv2/storage/iscsitarget', 'CIM_RemoteReplicationCollection');
  t.same(list.map((c) => c.instance.properties.find((p) => p.name === 'ElementName')?.value), [{ kind: 'value', text: 'kept' }]);
});
