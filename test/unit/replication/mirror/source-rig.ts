/**
 * A source pair and a replica applier over the in-memory transport, with a manual clock (not a test
 * file: tap skips it). Nothing here sleeps: tests await the pair's phase changes and the store's
 * changes, and move time with `clock.advance`.
 */
import { EventEmitter, once } from 'node:events';
import { join } from 'node:path';
import { EpochApplier } from '../../../../src/replication/apply/epoch-applier.ts';
import { SourcePair } from '../../../../src/replication/mirror/source-pair.ts';
import { ReplicaLiveness } from '../../../../src/replication/pipeline/replica-liveness.ts';
import { replicationOptions, type ReplicationOptions } from '../../../../src/replication/options.ts';
import type { PairPhase, PairRecord, ReplicationMode } from '../../../../src/replication/pair-types.ts';
import type { ObservedBackstore } from '../../../../src/storage/observed-backstore.ts';
import type { SparseFileBackstore } from '../../../../src/storage/sparse-file-backstore.ts';
import { fileBackstore, pattern, sha256Of, tempDir, type TapLike } from '../helpers.ts';
import { ManualClock } from '../manual-clock.ts';
import { MemoryStore, type MemoryTransport } from '../transport/memory-transport.ts';

export const KiB = 1024;
export const SIZE = 2 * 1024 * KiB;
export const GRAIN = 64 * KiB;

export const fastOptions: Partial<ReplicationOptions> = {
  grainBytes: GRAIN, probeIntervalMs: 100, stallTimeoutMs: 1000, syncTimeoutMs: 500, epochMaxMs: 1,
  resyncChunkBytes: 128 * KiB, cleanPersistMs: 10, activityExtentBytes: 256 * KiB,
};

export interface SourceRig {
  readonly dir: string;
  readonly store: MemoryStore;
  readonly clock: ManualClock;
  readonly source: ObservedBackstore<SparseFileBackstore>;
  readonly replica: ObservedBackstore<SparseFileBackstore>;
  readonly sourceLink: MemoryTransport;
  readonly replicaLink: MemoryTransport;
  readonly applier: EpochApplier;
  /** Every phase the pair went through, in order. */
  readonly phases: PairPhase[];
  /** Builds (and closes at teardown) a source pair on the rig's LUN: a restart is a second call. */
  pair(options?: { initialPhase?: PairPhase; mode?: ReplicationMode }): SourcePair;
  /** Resolves when the pair enters `phase` (at once if it is there). */
  reaches(pair: SourcePair, phase: PairPhase): Promise<void>;
  /** A new pair through its initial sync, streaming. */
  streaming(options?: { mode?: ReplicationMode }): Promise<SourcePair>;
  /** Whether the pair drains and the replica then holds the source's bytes. */
  converged(pair: SourcePair): Promise<boolean>;
  /** An initiator write of `length` pattern bytes at `offset`, its epoch sealed at once (shipped now). */
  writeSealed(pair: SourcePair, offset: number, length: number): Promise<void>;
}

export async function sourceRig(t: TapLike, overrides: Partial<ReplicationOptions> = {}): Promise<SourceRig> {
  const dir = await tempDir(t);
  const clock = new ManualClock();
  const store = new MemoryStore(() => clock.now());
  const source = await fileBackstore(t, dir, 'source.img', SIZE);
  const replica = await fileBackstore(t, dir, 'replica.img', SIZE);
  const options = replicationOptions({ ...fastOptions, ...overrides });
  const pairId = 'unitpair';
  const sourceLink = store.connect();
  const replicaLink = store.connect();
  const applier = new EpochApplier({ pairId, backstore: replica, journalBase: join(dir, 'replica'), transport: replicaLink, clock, options });
  await applier.start();
  // System b's heartbeat, as its engine keeps it (the source's probe reads it while ahead).
  const liveness = new ReplicaLiveness(replicaLink.store, 'b', clock, options.probeIntervalMs);
  await liveness.mark(pairId);
  t.teardown(async () => { liveness.close(); await applier.close(); });
  const phases: PairPhase[] = [];
  const events = new EventEmitter();
  const record = (mode: ReplicationMode): PairRecord => ({
    pairId, mode, createdAt: new Date(0).toISOString(),
    source: { system: 'a', targetIqn: 'iqn.a', lun: 0, naa: '6001' },
    target: { system: 'b', targetIqn: 'iqn.b', lun: 0, naa: '6002' },
  });
  const rig: SourceRig = {
    dir, store, clock, source, replica, sourceLink, replicaLink, applier, phases,
    pair: ({ initialPhase, mode = 'async' } = {}) => {
      const pair: SourcePair = new SourcePair({
        record: record(mode), backstore: source, dirtyMapPath: join(dir, 'source.dirty'), transport: sourceLink, clock, options,
        ...(initialPhase ? { initialPhase } : {}),
        onPhase: (phase) => { phases.push(phase); events.emit('phase', pair, phase); },
      });
      t.teardown(() => pair.close());
      return pair;
    },
    reaches: async (pair, phase) => {
      while (pair.phase !== phase) await once(events, 'phase');
    },
    streaming: async (options = {}) => {
      const pair = rig.pair(options);
      await pair.start(true);
      await rig.reaches(pair, 'streaming');
      return pair;
    },
    converged: async (pair) => (await pair.drained(5000)) && (await sha256Of(replica)) === (await sha256Of(source)),
    writeSealed: async (pair, offset, length) => {
      await source.write(offset, [pattern(length, offset)], { fua: false });
      pair.flushEpoch();
    },
  };
  return rig;
}
