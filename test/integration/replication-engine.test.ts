/**
 * Two replication engines (a primary and a peer system view over real sparse files) sharing one real
 * redis-server: pair creation, initial sync, streaming, fracture/resume, failover/failback, reverse
 * roles, and the CIM adapter's view of it.
 */
import t from 'tap';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { CimReplicationAdapter } from '../../src/app/replication-cim-adapter.ts';
import { replicationMetrics } from '../../src/replication/metrics.ts';
import { pattern, sha256Of, tempDir, waitFor } from '../unit/replication/helpers.ts';
import { startEngines, systemView } from './support/system-view.ts';

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;

t.test('a mirror between two systems through the engine', async (t) => {
  const dir = await tempDir(t);
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: true });
  t.teardown(() => redis.stop());
  const primary = await systemView(t, dir, 'primary', '6001405aaaaaaaa1', SIZE);
  const peer = await systemView(t, dir, 'peer', '6001405bbbbbbbb2', SIZE);
  await primary.backstore.write(MiB, [pattern(2 * MiB, 1)], { fua: false });
  const options = { probeIntervalMs: 100, stallTimeoutMs: 3000 };
  const [enginePrimary, enginePeer] = await startEngines(t, redis.url, [primary.view, peer.view], options);
  t.ok(await waitFor(async () => (await enginePrimary.findFreeRemoteVolume(SIZE)) !== undefined), 'peer volume registered');

  const cim = new CimReplicationAdapter(enginePrimary);
  const created = await cim.createElementReplica({
    syncType: 6, mode: 3,
    source: { className: 'MSISCSITARGET_StorageVolume', keys: { SystemName: 'primary', DeviceID: primary.lun.naa } },
  });
  t.equal(created.returnValue, 4096, 'CreateElementReplica starts a job');
  await created.completion;
  const pairId = enginePrimary.pairs()[0].pairId;
  t.equal(enginePrimary.status(pairId)?.phase, 'streaming');
  t.ok(await waitFor(() => peer.lun.writeProtected), 'replica LUN is write-protected');
  t.equal(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'initial sync copied the data');
  t.ok(enginePrimary.status(pairId)!.bytesResynced < 3 * MiB, 'holes were not shipped');

  const again = await cim.createElementReplica({
    syncType: 6, source: { className: 'MSISCSITARGET_StorageVolume', keys: { SystemName: 'primary', DeviceID: primary.lun.naa } },
    target: { className: 'MSISCSITARGET_StorageVolume', keys: { SystemName: 'peer', DeviceID: peer.lun.naa } },
  });
  t.equal(again.returnValue, 6, 'a LUN already mirrored is In Use');

  await primary.backstore.write(5 * MiB, [pattern(MiB, 2)], { fua: false });
  t.ok(await enginePrimary.sourcePair(pairId)!.drained(20_000));
  t.equal(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'streaming');

  const sync = cim.synchronizations()[0];
  t.equal(sync.copyState, 4, 'CopyState Synchronized');
  t.equal(sync.syncState, 6, 'SyncState Synchronized');
  const metrics = await replicationMetrics(enginePrimary).metrics();
  t.match(metrics, /iscsi_sim_replication_rpo_seconds\{pair="m-/, 'prometheus gauges per pair');

  // Fracture: writes are only tracked; Resume ships just those grains.
  const fracturePath = { className: 'MSISCSITARGET_StorageSynchronized', keys: { SystemElement: sync.source, SyncedElement: sync.target } };
  t.equal((await cim.modifyReplicaSynchronization(12, fracturePath)).returnValue, 0, 'Fracture');
  t.ok(await waitFor(() => enginePrimary.status(pairId)?.phase === 'fractured'));
  await primary.backstore.write(9 * MiB, [pattern(64 * 1024, 3)], { fua: false });
  t.not(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'replica left behind while fractured');
  const resyncedBefore = enginePrimary.status(pairId)!.bytesResynced;
  const resumed = await cim.modifyReplicaSynchronization(16, fracturePath);
  t.equal(resumed.returnValue, 4096, 'Resume runs as a job');
  await resumed.completion;
  t.ok(enginePrimary.status(pairId)!.bytesResynced - resyncedBefore <= 2 * 64 * 1024, 'resume shipped only the dirty grain');
  t.equal(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'in sync after resume');

  // Failover (source reachable): the primary fences itself and drains, the peer becomes the writable
  // source of the reversed relationship. Failback brings the peer's changes home, nothing else.
  await primary.backstore.write(13 * MiB, [pattern(4096, 5)], { fua: false });
  const failedOver = await enginePeer.modify(pairId, 'failover');
  t.equal(failedOver.admin, 'failing-over', 'graceful failover: the source drains first');
  await enginePeer.waitOperation(failedOver, 20_000);
  t.equal(peer.lun.writeProtected, false, 'DR site writable after failover');
  t.equal(primary.lun.writeProtected, true, 'old source fenced after failover');
  t.equal(enginePeer.status(pairId)?.copyState, 10, 'CopyState Failedover');
  t.equal(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'the drain shipped what the old source had');
  await peer.backstore.write(12 * MiB, [pattern(4096, 4)], { fua: false });
  const failback = await enginePrimary.modify(pairId, 'failback');
  await enginePrimary.waitOperation(failback, 30_000);
  t.equal(peer.lun.writeProtected, true, 'DR site protected again');
  t.equal(primary.lun.writeProtected, false, 'original source writable again');
  t.equal(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'failback brought the DR write home');
  const transfer = enginePrimary.status(pairId)?.lastTransfer;
  t.equal(transfer?.grains, 1, 'failback shipped the one grain changed at the DR site');
  t.ok(transfer && transfer.bytes <= 2 * 64 * 1024, `failback shipped ${transfer?.bytes} bytes`);

  // Reverse roles: the peer becomes the source.
  await enginePrimary.modify(pairId, 'reverse-roles');
  t.ok(await waitFor(() => enginePeer.sourcePair(pairId)?.phase === 'streaming', 20_000), 'peer streams as the new source');
  t.ok(await waitFor(() => primary.lun.writeProtected), 'old primary is now a protected replica');
  t.equal(peer.lun.writeProtected, false);
  await peer.backstore.write(2 * MiB, [pattern(MiB, 6)], { fua: false });
  t.ok(await enginePeer.sourcePair(pairId)!.drained(20_000));
  t.equal(await sha256Of(primary.backstore), await sha256Of(peer.backstore), 'writes flow peer → primary');

  await enginePeer.modify(pairId, 'detach');
  t.ok(await waitFor(() => !primary.lun.writeProtected && enginePrimary.pairs().length === 0), 'detached everywhere');
});

t.test('Redis loses all its data: the source puts the pair back and the replica converges', async (t) => {
  const dir = await tempDir(t);
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: false });
  t.teardown(() => redis.stop());
  const primary = await systemView(t, dir, 'primary', '6001405aaaaaaaa1', SIZE);
  const peer = await systemView(t, dir, 'peer', '6001405bbbbbbbb2', SIZE);
  const options = { probeIntervalMs: 100, stallTimeoutMs: 1500 };
  const [enginePrimary] = await startEngines(t, redis.url, [primary.view, peer.view], options);
  t.ok(await waitFor(async () => (await enginePrimary.findFreeRemoteVolume(SIZE)) !== undefined));
  const status = await enginePrimary.createMirror({ source: { targetIqn: primary.lun.targetIqn, lun: 0 }, target: { system: 'peer', targetIqn: peer.lun.targetIqn, lun: 0, naa: peer.lun.naa }, mode: 'async' });
  t.ok(await enginePrimary.waitSynchronized(status.pairId, 20_000));
  const { Redis } = await import('ioredis');
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  await admin.flushall();
  await primary.backstore.write(3 * MiB, [pattern(MiB, 7)], { fua: false });
  t.ok(await waitFor(async () => (await admin.sismember('iscsi-sim:pairs', status.pairId)) === 1, 20_000), 'pair entry restored in Redis');
  t.ok(await waitFor(async () => enginePrimary.status(status.pairId)?.phase === 'streaming' && (await enginePrimary.sourcePair(status.pairId)!.drained(100)), 30_000), 'back to streaming');
  t.equal(await sha256Of(peer.backstore), await sha256Of(primary.backstore), 'replica converged');
});
