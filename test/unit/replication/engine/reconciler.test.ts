/**
 * Issue 13: the periodic reconcile pass of a system reads the entries of its own pairs only. Before,
 * every system read every pair's entry every pass (a cost growing with pairs × systems): a third
 * system with no part in a pair read it as often as the pair's two systems.
 */
import t from 'tap';
import { ReplicationEngine } from '../../../../src/replication/engine.ts';
import { pairKeys } from '../../../../src/replication/keys.ts';
import type { ReplicationTransport } from '../../../../src/replication/transport/transport.ts';
import { systemView } from '../../../integration/support/system-view.ts';
import { engineOptions, engineRig, RECONCILE_MS, SIZE } from '../engine-rig.ts';
import { tempDir } from '../helpers.ts';
import type { MemoryTransport } from '../transport/memory-transport.ts';

/** The transport with every GET's key and every pass (the registry's pair list read) counted. */
function observed(link: MemoryTransport): { transport: ReplicationTransport; gets: string[]; passes: () => number } {
  const gets: string[] = [];
  let passes = 0;
  const store = new Proxy(link.store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (name === 'get') gets.push(String(args[0]));
        if (name === 'smembers' && args[0] === 'iscsi-sim:pairs') passes++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const transport = new Proxy(link, { get: (target, name) => (name === 'store' ? store : Reflect.get(target, name, target) as unknown) });
  return { transport, gets, passes: () => passes };
}

t.test('a system with no part in a pair stops reading its entry at every pass', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  const dir = await tempDir(t);
  const { view } = await systemView(t, dir, 'bystander', '6001405cccccccc3', SIZE);
  const watched = observed(rig.store.connect());
  const bystander = new ReplicationEngine({ view, transport: watched.transport, clock: rig.clock, options: engineOptions, reconcileMs: RECONCILE_MS });
  await bystander.start();
  t.teardown(() => bystander.close());
  const config = pairKeys(pairId).config;
  await rig.until(() => watched.gets.includes(config), 'the bystander read the pair once');
  const readsAfterFirstPass = watched.gets.filter((k) => k === config).length;
  for (let pass = 0; pass < 5; pass++) {
    const before = watched.passes();
    rig.tick();
    await rig.until(() => watched.passes() > before, `periodic pass ${pass + 1}`);
  }
  await bystander.close(); // waits for the passes under way
  t.equal(watched.gets.filter((k) => k === config).length, readsAfterFirstPass, '5 more passes: no read of the pair\'s entry');
  t.ok(bystander.status(pairId) === undefined || bystander.status(pairId)?.role !== 'source', 'the bystander has no side of the pair');
});

t.test('an idle source reads its hand-over set every 5th pass, and still takes grains left without an announcement', async (t) => {
  const rig = await engineRig(t);
  const pairId = await rig.mirror();
  const key = pairKeys(pairId).handoverGrains;
  let reads = 0;
  let passes = 0;
  const live = rig.store.live.bind(rig.store);
  rig.store.live = (k) => {
    if (k === key) reads++;
    return live(k);
  };
  const statusKey = pairKeys(pairId).status;
  const write = rig.store.write.bind(rig.store);
  rig.store.write = (k, data, ttlMs) => {
    if (k === statusKey) passes++; // the pass's reconcile of the pair ends by publishing its status
    write(k, data, ttlMs);
  };
  const pass = async (): Promise<void> => {
    const before = passes;
    rig.tick();
    await rig.until(() => passes > before, 'a periodic pass reconciled the pair');
  };
  for (let i = 0; i < 10; i++) await pass();
  t.ok(reads <= 3, `${reads} reads of the hand-over set in 10 passes (one every pass before)`);
  // Grains handed over whose announcement was lost: the sweep pass takes them (the set is emptied).
  await rig.store.connect().store.sadd(key, '3');
  for (let i = 0; i < 5 && rig.store.live(key) !== undefined; i++) await pass();
  await rig.until(() => rig.store.live(key) === undefined, 'the grains taken');
  t.pass('taken within 5 passes');
});
