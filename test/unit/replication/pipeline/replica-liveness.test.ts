/**
 * Issue 13: a replica's liveness costs one heartbeat per system, not one per pair, and still tells a
 * source probing the link whether that pair's replica runs: marked pairs are alive, an unmarked pair,
 * a stopped process (key expired) or a restarted one (older instance) are not, and a store that lost
 * its data gets the marks back at the next beat.
 */
import t from 'tap';
import { pairKeys, systemKeys } from '../../../../src/replication/keys.ts';
import { ReplicaLiveness, replicaAlive } from '../../../../src/replication/pipeline/replica-liveness.ts';
import type { KeyValueStore } from '../../../../src/replication/transport/transport.ts';
import { ManualClock } from '../manual-clock.ts';
import { MemoryStore } from '../transport/memory-transport.ts';

const INTERVAL = 500;

/** The store's commands, counted. */
function counting(store: KeyValueStore): { store: KeyValueStore; count: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => { calls++; return (value as (...a: unknown[]) => unknown).apply(target, args); };
    },
  });
  return { store: proxy, count: () => calls };
}

function rig() {
  const clock = new ManualClock();
  const server = new MemoryStore(() => clock.now());
  const replicaSide = server.connect();
  const counted = counting(replicaSide.store);
  const liveness = new ReplicaLiveness(counted.store, 'peer', clock, INTERVAL);
  const source = server.connect().store;
  const alive = (pairId: string) => replicaAlive(source, pairId, 'peer');
  /** Moves time beat by beat, letting each beat's writes land. */
  const advance = async (ms: number) => {
    for (let done = 0; done < ms; done += INTERVAL) {
      clock.advance(Math.min(INTERVAL, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { clock, server, replicaSide, liveness, alive, advance, commands: counted.count };
}

t.test('marked pairs are alive; one heartbeat per system whatever the number of pairs', async (t) => {
  const { liveness, alive, advance, commands } = rig();
  t.teardown(() => liveness.close());
  t.equal(await alive('p0'), false, 'nothing marked: not alive');
  for (let i = 0; i < 64; i++) await liveness.mark(`p${i}`);
  t.equal(await alive('p0'), true);
  t.equal(await alive('p63'), true);
  t.equal(await alive('other'), false, 'a pair whose replica does not run here');
  const before = commands();
  await advance(10 * INTERVAL);
  t.equal(commands() - before, 20, '10 beats with 64 pairs: 2 commands each (SET NX, SET), nothing per pair');
  t.equal(await alive('p17'), true, 'still alive after the beats');
});

t.test('an unmarked pair is not alive at once; its system key stays for the others', async (t) => {
  const { liveness, alive } = rig();
  t.teardown(() => liveness.close());
  await liveness.mark('a');
  await liveness.mark('b');
  await liveness.unmark('a');
  t.equal(await alive('a'), false, 'unmarked: not alive');
  t.equal(await alive('b'), true);
});

t.test('a process that stops beating is not alive once its key expires (4 intervals)', async (t) => {
  const { liveness, alive, advance } = rig();
  await liveness.mark('a');
  liveness.close(); // as a kill -9: the mark stays, the heartbeat stops
  await advance(3 * INTERVAL);
  t.equal(await alive('a'), true, 'within the expiry: still taken for alive');
  await advance(INTERVAL);
  t.equal(await alive('a'), false, 'after 4 intervals without a beat: not alive');
});

t.test('a restarted process: pairs it did not mark again are not alive (older instance)', async (t) => {
  const { server, clock, liveness, alive } = rig();
  await liveness.mark('a');
  await liveness.mark('b');
  liveness.close();
  const restarted = new ReplicaLiveness(server.connect().store, 'peer', clock, INTERVAL);
  t.teardown(() => restarted.close());
  await restarted.mark('a');
  t.not(restarted.instance, liveness.instance);
  t.equal(await alive('a'), true, 'marked by the new process');
  t.equal(await alive('b'), false, 'left marked by the old one: not alive');
});

t.test('a store that lost its data gets the marks back at the next beat', async (t) => {
  const { server, liveness, alive, advance } = rig();
  t.teardown(() => liveness.close());
  await liveness.mark('a');
  for (const key of server.keys()) server.remove(key);
  t.equal(await alive('a'), false, 'flushed');
  await advance(INTERVAL);
  t.equal(await alive('a'), true, 'marked again by the beat that found its key gone');
  t.ok(server.live(systemKeys('peer').alive), 'the system key is back');
});

t.test('marks and unmarks that fail while the store is down are written at a later beat', async (t) => {
  const { replicaSide, liveness, alive, advance } = rig();
  t.teardown(() => liveness.close());
  await liveness.mark('a');
  replicaSide.disconnect();
  await liveness.unmark('a'); // does not throw: owed
  await liveness.mark('b');
  t.equal(await alive('a'), true, 'the unmark did not reach the store yet');
  t.equal(await alive('b'), false, 'nor the mark');
  replicaSide.reconnect();
  await advance(INTERVAL);
  t.equal(await alive('a'), false, 'unmark written at the next beat');
  t.equal(await alive('b'), true, 'mark written at the next beat');
});

t.test('a store that does not answer holds the writes up for a bounded time only', async (t) => {
  const clock = new ManualClock();
  const server = new MemoryStore(() => clock.now());
  const real = server.connect().store;
  let hang = true;
  const store = new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (hang ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  const liveness = new ReplicaLiveness(store, 'peer', clock, INTERVAL);
  t.teardown(() => liveness.close());
  const started = Date.now();
  await liveness.mark('a'); // its SET never answers
  t.ok(Date.now() - started < 10_000, `mark returned after ${Date.now() - started} ms`);
  hang = false;
  clock.advance(INTERVAL);
  await server.until(() => server.live(pairKeysOf('a')) !== undefined, 5000, 'the mark written at a later beat');
  t.equal(await replicaAlive(real, 'a', 'peer'), true);
});

function pairKeysOf(pairId: string): string {
  return pairKeys(pairId).replicaOn('peer');
}
