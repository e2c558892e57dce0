/**
 * Replication lag as Prometheus metrics (prom-client), read from the engine at scrape time:
 * epochs behind, bytes behind, RPO seconds, throughput, dirty grains, percent synced, per pair.
 */
import { Gauge, Registry } from 'prom-client';
import type { ReplicationEngine } from './engine.ts';
import type { PairStatus } from './pair-types.ts';

type Reading = (status: PairStatus) => number;

const GAUGES: ReadonlyArray<[string, string, Reading]> = [
  ['iscsi_sim_replication_epochs_behind', 'Epochs shipped but not yet applied by the replica', (s) => s.epochsBehind],
  ['iscsi_sim_replication_bytes_behind', 'Bytes the replica lacks (in flight + dirty grains when not streaming)', (s) => s.bytesBehind],
  ['iscsi_sim_replication_rpo_seconds', 'Age of the oldest acknowledged write the replica does not hold (0 only when it holds all; NaN: unknown)', (s) => known(s, s.rpoSeconds)],
  ['iscsi_sim_replication_out_of_sync_bytes', 'Bytes of the grains the replica may lack (dirty map; NaN: unknown)', (s) => known(s, s.outOfSyncBytes)],
  ['iscsi_sim_replication_when_synced_timestamp_seconds', 'Unix time the replica last became identical (0: not yet)', (s) => (s.whenSynced ? Date.parse(s.whenSynced) / 1000 : 0)],
  ['iscsi_sim_replication_dirty_map_persist_failing', '1 while the dirty map cannot be persisted (writes needing a new mark fail)', (s) => (s.dirtyMapError ? 1 : 0)],
  ['iscsi_sim_replication_throughput_bytes_per_second', 'Bytes shipped per second (5 s window)', (s) => s.throughputBytesPerSecond],
  ['iscsi_sim_replication_dirty_grains', 'Grains marked in the dirty map', (s) => s.dirtyGrains],
  ['iscsi_sim_replication_percent_synced', 'Initial sync / resync progress', (s) => s.percentSynced],
  ['iscsi_sim_replication_copy_state', 'CIM CopyState (4 Synchronized, 3 Unsynchronized, 6 Fractured, ...)', (s) => s.copyState],
  ['iscsi_sim_replication_split_brain', 'Both systems wrote while disconnected (1): nothing moves until one side is kept', (s) => (s.phase === 'split-brain' ? 1 : 0)],
  ['iscsi_sim_replication_bytes_shipped_total', 'Payload bytes shipped since start', (s) => s.bytesShipped],
];

/** NaN (Prometheus: no meaningful value) when the source has not reported its lag lately. */
function known(status: PairStatus, value: number): number {
  return status.lagKnown === false ? Number.NaN : value;
}

/** Registers the gauges on `registry` (a fresh one by default) and returns it. */
export function replicationMetrics(engine: ReplicationEngine, registry = new Registry()): Registry {
  for (const [name, help, read] of GAUGES) {
    new Gauge({
      name, help, labelNames: ['pair', 'role', 'source', 'target'], registers: [registry],
      collect() {
        this.reset();
        for (const status of engine.pairs()) {
          const labels = {
            pair: status.pairId,
            role: status.role,
            source: `${status.record.source.system}/${status.record.source.targetIqn}/${status.record.source.lun}`,
            target: `${status.record.target.system}/${status.record.target.targetIqn}/${status.record.target.lun}`,
          };
          this.set(labels, read(status));
        }
      },
    });
  }
  return registry;
}
