import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../../src/config/validate.ts';
import { System } from '../../../src/system/system.ts';
import { fakeWorld, withBackstores } from './fakes.ts';

function config(dir: string, extra: Record<string, unknown> = {}) {
  return validateConfig({
    name: 'sim',
    stateDir: 'state',
    portals: ['127.0.0.1:0', { address: '127.0.0.1', port: 0, portalGroupTag: 2 }],
    targets: [
      { iqn: 'iqn.2026-11.org.example:a', luns: [{ size: '1M' }, { lun: 5, size: '2M', readOnly: true }] },
      { iqn: 'iqn.2026-11.org.example:b', portalGroupTags: [2], alias: 'bee', luns: [{ size: '1M', serial: 'MYSERIAL' }] },
    ],
    ...extra,
  }, { baseDir: dir, cwd: dir });
}

t.test('a readOnly LUN stays write protected when replication unfences it (detach, becoming the source)', async (t) => {
  const dir = t.testdir();
  const world = fakeWorld();
  const system = new System(config(dir), world.components);
  await system.start();
  t.teardown(() => system.stop());
  const readOnly = system.lun('iqn.2026-11.org.example:a', 5)!;
  const writable = system.lun('iqn.2026-11.org.example:a', 0)!;
  for (const lun of [readOnly, writable]) lun.writeProtected = true;
  t.equal(writable.writeProtected, true, 'a replica fence protects a writable LUN');
  for (const lun of [readOnly, writable]) lun.writeProtected = false;
  t.equal(writable.writeProtected, false, 'and unfencing makes it writable again');
  t.equal(readOnly.writeProtected, true, 'a configured readOnly LUN is never made writable');
});

t.test('starts, exposes the view and the catalog, stops in order', async (t) => {
  const dir = t.testdir();
  const world = fakeWorld();
  const system = new System(config(dir), world.components);
  await system.start();
  t.same(system.portals.map((p) => [p.port, p.portalGroupTag, p.listening]), [[40000, 1, true], [40001, 2, true]]);
  t.equal(system.targets.length, 2);
  const lun5 = system.lun('IQN.2026-11.org.example:A', 5);
  t.ok(lun5);
  t.equal(lun5?.sizeBytes, 2 * 1024 * 1024);
  t.equal(lun5?.writeProtected, true);
  t.match(lun5?.naa, /^3[0-9a-f]{15}$/);
  t.equal(system.lun('iqn.2026-11.org.example:b', 0)?.serial, 'MYSERIAL');
  t.equal(lun5?.file, join(dir, 'state', 'iqn.2026-11.org.example_a.lun5.img'));

  const catalog = world.catalog;
  t.ok(catalog);
  t.equal(catalog?.targets().length, 2);
  t.equal(catalog?.target('IQN.2026-11.ORG.EXAMPLE:B')?.alias, 'bee');
  t.same(catalog?.portalsOfGroup(2), [{ address: '127.0.0.1', port: 40001, portalGroupTag: 2, listening: true }]);
  t.same(catalog?.target('iqn.2026-11.org.example:a')?.device.luns, [0, 5]);

  const summary = system.summary();
  t.same(summary.targets[0].luns.map((l) => l.lun), [0, 5]);
  t.equal(summary.cimUrl, undefined);

  const lun0 = system.lun('iqn.2026-11.org.example:a', 0)!;
  lun0.writeProtected = true;
  t.equal(system.lun('iqn.2026-11.org.example:a', 0)?.writeProtected, true, 'the view sets the unit\'s own flag');

  await system.stop();
  await system.stop();
  const after = world.events.slice(world.events.indexOf('fabric close'));
  t.equal(after[0], 'fabric close');
  t.equal(after.filter((e) => e.startsWith('flush')).length, 3);
  t.equal(after.filter((e) => e.startsWith('close')).length, 3);
  t.same(system.portals.map((p) => p.listening), [false, false]);
});

t.test('identities are stable across restarts and distinct per LUN', async (t) => {
  const dir = t.testdir();
  const first = new System(config(dir), fakeWorld().components);
  await first.start();
  const naas = first.summary().targets.flatMap((target) => target.luns.map((l) => l.naa));
  await first.stop();
  const second = new System(config(dir), fakeWorld().components);
  await second.start();
  t.same(second.summary().targets.flatMap((target) => target.luns.map((l) => l.naa)), naas);
  t.equal(new Set(naas).size, 3);
  await second.stop();
});

t.test('a portal that cannot listen fails start and releases everything', async (t) => {
  const dir = t.testdir();
  const world = fakeWorld();
  world.failListenOn = 3260;
  const system = new System(config(dir, { portals: ['127.0.0.1:3260'], targets: [{ iqn: 'iqn.2026-11.org.example:a', luns: [{ size: '1M' }] }] }), world.components);
  await t.rejects(system.start(), /cannot listen on 127\.0\.0\.1:3260: EADDRINUSE/);
  t.ok(world.events.includes('fabric close'));
  t.equal(world.events.filter((e) => e.startsWith('close')).length, 1);
});

t.test('starts the CIM server when enabled and available', async (t) => {
  const dir = t.testdir();
  const world = fakeWorld();
  let closed = false;
  const components = {
    ...world.components,
    startCim: async (view: { name: string }, cim: { port: number }) => ({ url: `http://127.0.0.1:${cim.port}/${view.name}`, close: async () => void (closed = true) }),
  };
  const system = new System(config(dir, { cim: { port: 15988 } }), components);
  await system.start();
  t.equal(system.cimUrl, 'http://127.0.0.1:15988/sim');
  t.equal(system.summary().cimUrl, 'http://127.0.0.1:15988/sim');
  await system.stop();
  t.ok(closed);
  t.equal(system.cimUrl, undefined);
});

t.test('a CIM state file that cannot be saved makes the system not ready, naming it, until a save succeeds', async (t) => {
  const dir = t.testdir();
  let problem: string | undefined = 'CIM state not saved to /s/cim-state.json: ENOSPC';
  const components = {
    ...fakeWorld().components,
    startCim: async () => ({ url: 'http://127.0.0.1:15988', persistProblem: () => problem, close: async () => undefined }),
  };
  const system = new System(config(dir, { cim: { port: 15988 } }), components);
  await system.start();
  t.teardown(() => system.stop());
  t.same(system.readiness(), { ready: false, problems: ['CIM state not saved to /s/cim-state.json: ENOSPC'] });
  problem = undefined;
  t.same(system.readiness(), { ready: true, problems: [] });
});

// A flush that failed at shutdown was logged and `serve` exited 0: data may not be on disk.
t.test('stop runs every step, then rejects naming each LUN whose flush failed', async (t) => {
  const dir = t.testdir();
  const world = fakeWorld();
  const components = withBackstores(world, async (lun, opened) => {
    const backstore = await opened();
    return lun.sizeBytes === 2 * 1024 * 1024 ? { ...backstore, flush: async () => { throw new Error('EIO: i/o error, fdatasync'); } } : backstore;
  });
  const system = new System(config(dir), components);
  await system.start();
  await t.rejects(system.stop(), { name: 'ShutdownError', message: /system sim stopped with errors: flushing .*: EIO: i\/o error, fdatasync/ });
  t.equal(world.events.filter((e) => e.startsWith('close ')).length, 3, 'every LUN was still closed');
  t.equal(system.readiness().problems[0], 'system is stopped');
});

// Issue 12: a LUN at /nonexistent/dir/x.img silently created the folders; EACCES did not say which LUN.
t.test('a LUN folder outside the state dir must exist unless createParents; errors name the LUN', async (t) => {
  const dir = t.testdir();
  const outside = join(dir, 'elsewhere', 'sub', 'x.img');
  const withLun = (lun: Record<string, unknown>) => config(dir, { targets: [{ iqn: 'iqn.2026-11.org.example:a', luns: [{ size: '1M' }, { lun: 1, file: outside, size: '1M', ...lun }] }] });
  const refused = new System(withLun({}), fakeWorld().components);
  await t.rejects(refused.start(), { message: `LUN 1 of iqn.2026-11.org.example:a (${outside}): folder ${join(dir, 'elsewhere')} does not exist (create it, or set createParents: true on the LUN; quick form: --mkdir)` });
  t.notOk(existsSync(join(dir, 'elsewhere')), 'nothing created');

  const asked = new System(withLun({ createParents: true }), fakeWorld().components);
  await asked.start();
  t.ok(existsSync(join(dir, 'elsewhere', 'sub')), 'created when asked');
  await asked.stop();

  const inState = new System(config(dir, { targets: [{ iqn: 'iqn.2026-11.org.example:a', luns: [{ file: 'luns/a/x.img', size: '1M' }] }] }), fakeWorld().components);
  await inState.start();
  t.ok(existsSync(join(dir, 'state', 'luns', 'a')), 'folders inside the state dir are created');
  await inState.stop();
});

t.test('an open error (EACCES) names the LUN', async (t) => {
  const dir = t.testdir();
  const world = fakeWorld();
  const components = withBackstores(world, async (lun, opened) => {
    if (lun.lun === 5) throw Object.assign(new Error(`EACCES: permission denied, open '${lun.file}'`), { code: 'EACCES' });
    return opened();
  });
  const system = new System(config(dir), components);
  await t.rejects(system.start(), { message: /^LUN 5 of iqn\.2026-11\.org\.example:a \(\S+lun5\.img\): EACCES: permission denied/ });
  t.equal(world.events.filter((e) => e.startsWith('close')).length, 1, 'the LUN opened before is closed again');
});
