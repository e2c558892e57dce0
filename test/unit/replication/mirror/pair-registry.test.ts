import t, { type Test } from 'tap';
import { PairRegistry, type PairEntry } from '../../../../src/replication/mirror/pair-registry.ts';
import { pairKeys } from '../../../../src/replication/keys.ts';
import type { PairRecord } from '../../../../src/replication/pair-types.ts';
import type { KeyValueStore } from '../../../../src/replication/transport/transport.ts';
import { tempDir } from '../helpers.ts';
import { MemoryStore } from '../transport/memory-transport.ts';

const lun = (system: string, naa: string) => ({ system, targetIqn: 'iqn.2026-01.test:t', lun: 0, naa });
const record: PairRecord = { pairId: 'm-race', source: lun('a', '6001405aaaaaaaa1'), target: lun('b', '6001405bbbbbbbb2'), mode: 'async', createdAt: '2026-01-01T00:00:00.000Z' };

/** A store whose next read of `key` runs `between` before it returns (another system's write lands there). */
function interleaving(store: KeyValueStore, key: string): { store: KeyValueStore; next(between: () => Promise<unknown>): void } {
  let pending: (() => Promise<unknown>) | undefined;
  const wrapped: KeyValueStore = Object.create(store) as KeyValueStore;
  wrapped.get = async (k) => {
    const value = await store.get(k);
    const between = k === key ? pending : undefined;
    if (between) { pending = undefined; await between(); }
    return value;
  };
  return { store: wrapped, next: (between) => { pending = between; } };
}

async function rig(t: Test) {
  const server = new MemoryStore();
  const stateDir = await tempDir(t);
  const connect = (store?: KeyValueStore) => new PairRegistry(store ?? server.connect().store, stateDir);
  return { server, connect, stored: async () => JSON.parse((await server.connect().store.get(pairKeys(record.pairId).config))!) as PairEntry };
}

t.test('concurrent publishes of different fields: neither is lost, each bumps the revision', async (t) => {
  const { connect, stored } = await rig(t);
  await connect().publish(record, 'active');
  // Two systems publish at once (their reads of the entry interleave before either writes).
  await Promise.all([
    connect().publish(record, 'active', { splitBrainPolicy: 'discard-least-changes' }),
    connect().publish(record, 'active', { generation: 2 }),
  ]);
  const entry = await stored();
  t.equal(entry.splitBrainPolicy, 'discard-least-changes', 'the first publish kept');
  t.equal(entry.generation, 2, 'the second publish kept');
  t.equal(entry.revision, 3, 'one revision per publish');
});

t.test('update decides again on the entry a concurrent write left: a detach is not overwritten by a split-brain count', async (t) => {
  const { server, connect, stored } = await rig(t);
  const report = { detectedAt: '2026-01-01T00:00:01.000Z', changes: { b: 3 } };
  await connect().publish(record, 'split-brain', { splitBrain: report });
  const source = interleaving(server.connect().store, pairKeys(record.pairId).config);
  // The operator's detach lands after the new source read the entry and before it writes its count.
  source.next(() => connect().publish(record, 'detached', { splitBrain: null }));
  const seen: string[] = [];
  const result = await new PairRegistry(source.store, await tempDir(t)).update(record.pairId, (current) => {
    seen.push(current!.admin);
    if (current?.admin !== 'split-brain' || !current.splitBrain) return undefined;
    return { record: current.record, admin: 'split-brain', changes: { splitBrain: { ...current.splitBrain, changes: { ...current.splitBrain.changes, a: 5 } } } };
  });
  t.same(seen, ['split-brain', 'detached'], 'decided twice: on the entry it read, then on the detached one');
  t.equal(result.published, false, 'nothing published over the detach');
  const entry = await stored();
  t.equal(entry.admin, 'detached', 'the detach stands');
  t.equal(entry.splitBrain, undefined);
  t.equal(entry.revision, 2);
});

t.test('publishIfCurrent writes only over the entry it was decided from', async (t) => {
  const { connect, stored } = await rig(t);
  const first = await connect().publish(record, 'active');
  const changed = await connect().publish({ ...record, mode: 'sync' }, 'active');
  t.equal(await connect().publishIfCurrent(first, record, 'fractured'), undefined, 'stale: refused');
  t.equal((await stored()).admin, 'active');
  const published = await connect().publishIfCurrent(changed, changed.record, 'fractured');
  t.equal(published?.admin, 'fractured', 'current: written');
  t.equal(published?.record.mode, 'sync');
  t.equal((await stored()).revision, 3);
});

t.test('a decision that throws writes nothing; a publish announces the pair and lists it', async (t) => {
  const { server, connect, stored } = await rig(t);
  const announced: string[] = [];
  const listener = server.connect();
  listener.subscribe('iscsi-sim:pair-events', (message) => announced.push(message));
  await connect().publish(record, 'active');
  await t.rejects(connect().update(record.pairId, () => { throw new Error('refused'); }), /refused/);
  t.equal((await stored()).revision, 1, 'unchanged');
  t.same(await connect().allPairIds(), [record.pairId], 'in the index');
  await server.until(() => announced.length === 1, 5000, 'the announcement');
  t.same(announced, [record.pairId]);
});
