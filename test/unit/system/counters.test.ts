import t from 'tap';
import { validateConfig } from '../../../src/config/validate.ts';
import type { BuiltTarget } from '../../../src/system/components.ts';
import { System } from '../../../src/system/system.ts';
import { fakeWorld } from './fakes.ts';

function config(dir: string) {
  return validateConfig({
    name: 'sim',
    stateDir: 'state',
    portals: ['127.0.0.1:0'],
    targets: [
      { iqn: 'iqn.2026-11.org.example:a', luns: [{ size: '1M' }] },
      { iqn: 'iqn.2026-11.org.example:b', luns: [{ size: '1M' }] },
    ],
  }, { baseDir: dir, cwd: dir });
}

t.test('counters() reads the live copy counters of each target; zeros when the core keeps none', async (t) => {
  const world = fakeWorld();
  const live = { count: 0, bytes: 0 };
  const build = world.components.buildTarget;
  world.components.buildTarget = (target, units): BuiltTarget => {
    const built = build(target, units);
    return target.iqn.endsWith(':a') ? { ...built, counters: { copyOperations: live } } : built;
  };
  const system = new System(config(t.testdir()), world.components);
  await system.start();
  t.teardown(() => system.stop());
  t.same(system.counters(), [
    { iqn: 'iqn.2026-11.org.example:a', copyOperations: { count: 0, bytes: 0 } },
    { iqn: 'iqn.2026-11.org.example:b', copyOperations: { count: 0, bytes: 0 } },
  ]);
  live.count = 2;
  live.bytes = 8192;
  t.same(system.counters()[0], { iqn: 'iqn.2026-11.org.example:a', copyOperations: { count: 2, bytes: 8192 } }, 'a live view, not a copy taken at start');
  const snapshot = system.counters()[0];
  live.count = 5;
  t.equal(snapshot.copyOperations.count, 2, 'each call returns a snapshot');
});
