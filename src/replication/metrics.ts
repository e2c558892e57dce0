/**
 * Replication lag as Prometheus metrics (prom-client), read from the engine at scrape time:
 * epochs behind, bytes behind, RPO seconds, throughput, dirty grains, percent synced, per pair.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ReplicationEngine } from './engine.ts';
import type { LinkListing } from './link/link-table.ts';
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

type LinkReading = (link: LinkListing) => number | undefined;

/** The emulated link of each pair (src/replication/link): its conditions and what it did. */
const LINK_GAUGES: ReadonlyArray<[string, string, LinkReading]> = [
  ['iscsi_sim_link_partitioned', '1 while the pair\'s emulated replication link is partitioned', (l) => (l.conditions.partitioned ? 1 : 0)],
  ['iscsi_sim_link_latency_seconds', 'Added one-way latency of the emulated link', (l) => l.conditions.latencyMs / 1000],
  ['iscsi_sim_link_rate_limit_bytes_per_second', 'Bandwidth cap of the emulated link (absent: no cap)', (l) => l.conditions.rateBytesPerSecond],
  ['iscsi_sim_link_loss_ratio', 'Probability that the emulated link loses a transmission', (l) => l.conditions.loss],
];

const LINK_COUNTERS: ReadonlyArray<[string, string, LinkReading]> = [
  ['iscsi_sim_link_refused_total', 'Transmissions refused by an emulated partition', (l) => l.counters.refused],
  ['iscsi_sim_link_lost_total', 'Transmissions lost by the emulated link', (l) => l.counters.lost],
  ['iscsi_sim_link_retransmitted_total', 'Retransmissions after an emulated loss', (l) => l.counters.retransmitted],
  ['iscsi_sim_link_failed_total', 'Transmissions given up after repeated emulated losses', (l) => l.counters.failed],
  ['iscsi_sim_link_bytes_total', 'Payload bytes carried by the emulated link (retransmissions included)', (l) => l.counters.bytes],
  ['iscsi_sim_link_rate_wait_seconds_total', 'Seconds transmissions waited for the emulated bandwidth cap', (l) => l.counters.rateWaitSeconds],
  ['iscsi_sim_link_delay_seconds_total', 'Seconds of emulated latency added', (l) => l.counters.delaySeconds],
];

function registerLinkMetrics(engine: ReplicationEngine, registry: Registry): void {
  for (const [name, help, read] of LINK_GAUGES) {
    new Gauge({
      name, help, labelNames: ['pair'], registers: [registry],
      collect() {
        this.reset();
        for (const link of engine.links.list()) {
          const value = read(link);
          if (value !== undefined) this.set({ pair: link.pairId }, value);
        }
      },
    });
  }
  for (const [name, help, read] of LINK_COUNTERS) {
    new Counter({
      name, help, labelNames: ['pair'], registers: [registry],
      collect() {
        this.reset();
        for (const link of engine.links.list()) this.inc({ pair: link.pairId }, read(link) ?? 0);
      },
    });
  }
}

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
  registerLinkMetrics(engine, registry);
  return registry;
}
