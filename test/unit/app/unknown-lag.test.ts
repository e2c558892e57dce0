/** A silent source's lag is unknown: CIM shows NULL and /metrics NaN, never 0 (issue 8, true lag). */
import t from 'tap';
import { CimReplicationAdapter } from '../../../src/app/replication-cim-adapter.ts';
import type { ReplicationEngine } from '../../../src/replication/engine.ts';
import { replicationMetrics } from '../../../src/replication/metrics.ts';
import { CopyState, SyncState, type PairStatus } from '../../../src/replication/pair-types.ts';

const address = (system: string, naa: string) => ({ system, targetIqn: 'iqn.2026-11.org.iscsi-sim:x', lun: 0, naa });

function status(extra: Partial<PairStatus>): PairStatus {
  return {
    pairId: 'm-1', role: 'target', phase: 'initial-sync',
    record: { pairId: 'm-1', source: address('a', '6001405aaaaaaaa1'), target: address('b', '6001405bbbbbbbb2'), mode: 'async', createdAt: '' },
    copyState: CopyState.Unsynchronized, syncState: SyncState.CopyInProgress, percentSynced: 0, replicaConsistent: false,
    generation: 0, lastShippedEpoch: 0, lastAppliedEpoch: 0, epochsBehind: 0, bytesBehind: 0, dirtyGrains: 0, grainBytes: 0,
    outOfSyncBytes: 0, rpoSeconds: 0, bytesShipped: 0, bytesResynced: 0, throughputBytesPerSecond: 0, updatedAt: new Date().toISOString(),
    ...extra,
  };
}

const engineWith = (s: PairStatus) => ({ pairs: () => [s], links: { list: () => [] } }) as unknown as ReplicationEngine;

t.test('unknown lag: CIM leaves RPOSeconds and OutOfSyncBytes out (NULL), /metrics says NaN (prom-client writes Nan; Prometheus parses it case-insensitively)', async (t) => {
  const unknown = status({ lagKnown: false });
  const view = new CimReplicationAdapter(engineWith(unknown)).synchronizations()[0];
  t.equal(view.rpoSeconds, undefined);
  t.equal(view.outOfSyncBytes, undefined);
  const text = await replicationMetrics(engineWith(unknown)).metrics();
  t.match(text, /iscsi_sim_replication_rpo_seconds\{[^}]*\} NaN/i);
  t.match(text, /iscsi_sim_replication_out_of_sync_bytes\{[^}]*\} NaN/i);
});

t.test('known lag is shown as measured, 0 included', async (t) => {
  const measured = status({ rpoSeconds: 0, outOfSyncBytes: 0, whenSynced: new Date(5000).toISOString() });
  const view = new CimReplicationAdapter(engineWith(measured)).synchronizations()[0];
  t.equal(view.rpoSeconds, 0);
  t.equal(view.outOfSyncBytes, 0);
  t.equal(view.whenSynced, 5000, 'WhenSynced from the source status');
  const text = await replicationMetrics(engineWith(measured)).metrics();
  t.match(text, /iscsi_sim_replication_when_synced_timestamp_seconds\{[^}]*\} 5\n/);
});
