/**
 * Issue 8: lag while resyncing (not only fractured) and the mirror mode changed on a running pair
 * (ModifyReplicaSynchronization 17 Reset To Sync / 18 Reset To Async). Two replication engines over
 * real sparse files sharing one real redis-server; the replica is stalled through its applier.
 */
import t from 'tap';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { CimReplicationAdapter } from '../../src/app/replication-cim-adapter.ts';
import { ReplicationEngine } from '../../src/replication/engine.ts';
import { RedisTransport } from '../../src/replication/transport/redis-transport.ts';
import type { ObjectPath } from '../../src/cim/types.ts';
import { pattern, tempDir, waitFor, type TapLike } from '../unit/replication/helpers.ts';
import { systemView } from './support/system-view.ts';

const MiB = 1024 * 1024;
const SIZE = 32 * MiB;

async function rig(t: TapLike) {
  const dir = await tempDir(t);
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: true });
  t.teardown(() => redis.stop());
  const primary = await systemView(t, dir, 'primary', '6001405aaaaaaaa1', SIZE);
  const peer = await systemView(t, dir, 'peer', '6001405bbbbbbbb2', SIZE);
  const options = { probeIntervalMs: 100, stallTimeoutMs: 60_000, syncTimeoutMs: 60_000 };
  const enginePrimary = new ReplicationEngine({ view: primary.view, transport: new RedisTransport(redis.url), options, reconcileMs: 200 });
  t.teardown(() => enginePrimary.close());
  await enginePrimary.start();
  /** The peer system's engine; restartable (a stopped peer applies and acknowledges nothing). */
  const startPeer = async (): Promise<ReplicationEngine> => {
    const engine = new ReplicationEngine({ view: peer.view, transport: new RedisTransport(redis.url), options, reconcileMs: 200 });
    t.teardown(() => engine.close());
    await engine.start();
    return engine;
  };
  const enginePeer = await startPeer();
  await waitFor(async () => (await enginePrimary.findFreeRemoteVolume(SIZE)) !== undefined);
  const cim = new CimReplicationAdapter(enginePrimary);
  const created = await cim.createElementReplica({
    syncType: 6, mode: 3,
    source: { className: 'MSISCSITARGET_StorageVolume', keys: { SystemName: 'primary', DeviceID: primary.lun.naa } },
  });
  await created.completion;
  const pairId = enginePrimary.pairs()[0].pairId;
  const sync: ObjectPath = created.synchronization!;
  return { primary, enginePrimary, enginePeer, startPeer, cim, pairId, sync };
}

t.test('resyncing with 12 MiB behind: RPO > 0 and out of sync ≥ 12 MiB until the replica has it', async (t) => {
  const { primary, enginePrimary, enginePeer, startPeer, cim, pairId, sync } = await rig(t);
  t.equal(enginePrimary.status(pairId)?.rpoSeconds, 0, 'in sync: RPO 0');
  const firstSynced = enginePrimary.status(pairId)?.whenSynced;
  t.ok(firstSynced, 'WhenSynced set by the initial sync');
  t.equal((await cim.modifyReplicaSynchronization(12, sync)).returnValue, 0, 'Fracture');
  const writtenAt = Date.now();
  await primary.backstore.write(4 * MiB, [pattern(12 * MiB, 7)], { fua: false });
  // The write must be measurably old before the resync starts (RPO counts from it, not from the resync).
  t.ok(await waitFor(() => enginePrimary.status(pairId)!.rpoSeconds >= 0.3, 20_000), 'fractured: RPO grows from the write');
  await enginePeer.close(); // the replica's system is down: nothing is applied or acknowledged
  const resume = await cim.modifyReplicaSynchronization(16, sync);
  t.equal(resume.returnValue, 4096, 'Resume');
  t.ok(await waitFor(() => {
    const s = enginePrimary.status(pairId)!;
    return s.phase === 'resyncing' && s.lastShippedEpoch > 0;
  }, 20_000), 'resyncing, epochs shipped, the replica down');
  const resyncing = enginePrimary.status(pairId)!;
  t.comment(`resyncing: RPO ${resyncing.rpoSeconds} s, out of sync ${resyncing.outOfSyncBytes} bytes, behind ${resyncing.epochsBehind} epochs`);
  t.ok(resyncing.rpoSeconds >= 0.3, `RPO counts from the write, not from the resync (${resyncing.rpoSeconds} s)`);
  t.ok(resyncing.rpoSeconds <= (Date.now() - writtenAt) / 1000 + 0.5, 'and no older than the write');
  t.ok(resyncing.outOfSyncBytes >= 12 * MiB, `out of sync ≥ 12 MiB (${resyncing.outOfSyncBytes})`);
  t.equal(resyncing.whenSynced, firstSynced, 'WhenSynced has not moved yet');
  const view = cim.synchronizations()[0];
  t.equal(view.rpoSeconds! > 0 && view.outOfSyncBytes! >= 12 * MiB, true, 'CIM shows the same lag');
  await startPeer();
  t.ok(await waitFor(() => {
    const s = enginePrimary.status(pairId)!;
    return s.phase === 'streaming' && s.rpoSeconds === 0 && s.outOfSyncBytes === 0;
  }, 30_000), 'streaming again, RPO 0, nothing out of sync');
  t.ok(Date.parse(enginePrimary.status(pairId)!.whenSynced!) > Date.parse(firstSynced!), 'WhenSynced moved');
  await resume.completion;
});

t.test('Reset To Sync / Reset To Async on a running pair', async (t) => {
  const { primary, enginePrimary, enginePeer, startPeer, cim, pairId, sync } = await rig(t);
  t.ok(cim.supportedOperations.includes(17) && cim.supportedOperations.includes(18), 'operations 17 and 18 are supported');
  t.equal((await cim.modifyReplicaSynchronization(17, sync)).returnValue, 0, 'Reset To Sync');
  t.ok(await waitFor(() => enginePrimary.status(pairId)?.record.mode === 'sync'), 'the running source took the new mode');
  // The peer reconciles the change too (and resumes its applier): stall it only after that.
  t.ok(await waitFor(() => enginePeer.entry(pairId)?.record.mode === 'sync'));
  t.equal(cim.synchronizations()[0].mode, 2, 'CIM Mode 2 Synchronous');
  await enginePeer.close(); // the replica's system is down: nothing is acknowledged
  let peerStarted = false;
  // The order of events proves it: the write settles only after the replica's system was started again.
  const write = primary.backstore.write(MiB, [pattern(64 * 1024, 3)], { fua: false }).then(() => peerStarted);
  peerStarted = true;
  const peerAgain = await startPeer();
  t.equal(await write, true, 'sync: the write waited for the replica and completed once it had it');
  t.equal((await cim.modifyReplicaSynchronization(18, sync)).returnValue, 0, 'Reset To Async');
  t.ok(await waitFor(() => enginePrimary.status(pairId)?.record.mode === 'async'));
  t.ok(await waitFor(() => peerAgain.entry(pairId)?.record.mode === 'async'));
  await peerAgain.close();
  await primary.backstore.write(2 * MiB, [pattern(64 * 1024, 4)], { fua: false });
  t.pass('async: the write completes with the replica down');
});
