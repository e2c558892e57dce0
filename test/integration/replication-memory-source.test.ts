/**
 * A mirror whose source is a memory LUN (issue 9): change capture works through the ObservedBackstore
 * decorator, and a restart — which leaves the memory LUN blank — syncs the pair like a new one, so the
 * replica does not keep blocks the source no longer has.
 */
import t from 'tap';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { ReplicationEngine } from '../../src/replication/engine.ts';
import { RedisTransport } from '../../src/replication/transport/redis-transport.ts';
import type { ObservableBackstore } from '../../src/storage/backstore.ts';
import { MemoryBackstore } from '../../src/storage/memory-backstore.ts';
import { ObservedBackstore } from '../../src/storage/observed-backstore.ts';
import type { LunView, SystemView } from '../../src/system/view.ts';
import { fileBackstore, pattern, sha256Of, tempDir, waitFor } from '../unit/replication/helpers.ts';
import { startEngines } from './support/system-view.ts';

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;

function systemView(dir: string, name: string, naa: string, backstore: ObservableBackstore): { view: SystemView; lun: LunView } {
  const iqn = `iqn.2026-11.org.iscsi-sim:${name}`;
  const lun: LunView = { targetIqn: iqn, lun: 0, sizeBytes: SIZE, blockSize: 512, naa, serial: naa, backstore, writeProtected: false };
  const view: SystemView = {
    name, stateDir: join(dir, name), portals: [], peers: [], cimUrl: undefined,
    targets: [{ iqn, portalGroupTags: [1], luns: [lun] }],
    lun: (targetIqn, number) => (targetIqn === iqn && number === 0 ? lun : undefined),
  };
  return { view, lun };
}

t.test('memory source: streamed like a file LUN; after a restart (blank medium) the replica is synced to blank', async (t) => {
  const dir = await tempDir(t);
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: true });
  t.teardown(() => redis.stop());
  const options = { probeIntervalMs: 100, stallTimeoutMs: 3000 };
  const memory = new ObservedBackstore(new MemoryBackstore({ sizeBytes: SIZE }));
  const primary = systemView(dir, 'primary', '6001405aaaaaaaa1', memory);
  const peerBackstore = await fileBackstore(t, dir, 'peer.img', SIZE);
  const peer = systemView(dir, 'peer', '6001405bbbbbbbb2', peerBackstore);
  await memory.write(MiB, [pattern(2 * MiB, 1)], { fua: false });
  const enginePrimary = new ReplicationEngine({ view: primary.view, transport: new RedisTransport(redis.url), options, reconcileMs: 200 });
  const enginePeer = new ReplicationEngine({ view: peer.view, transport: new RedisTransport(redis.url), options, reconcileMs: 200 });
  t.teardown(() => enginePeer.close());
  await enginePrimary.start();
  await enginePeer.start();
  t.ok(await waitFor(async () => (await enginePrimary.findFreeRemoteVolume(SIZE)) !== undefined), 'peer volume registered');
  const status = await enginePrimary.createMirror({ source: { targetIqn: primary.lun.targetIqn, lun: 0 }, target: { system: 'peer', targetIqn: peer.lun.targetIqn, lun: 0, naa: peer.lun.naa }, mode: 'async' });
  t.ok(await enginePrimary.waitSynchronized(status.pairId, 20_000), 'initial sync from memory');
  await memory.write(6 * MiB, [pattern(MiB, 2)], { fua: false });
  await memory.unmap(MiB, MiB);
  await memory.flush();
  t.ok(await enginePrimary.sourcePair(status.pairId)!.drained(20_000), 'writes and UNMAP streamed');
  t.equal(await sha256Of(peerBackstore), await sha256Of(memory), 'replica equals the memory source');

  // Restart: the engine stops, the memory LUN comes back blank with the same identity.
  await enginePrimary.close();
  await memory.close();
  const blank = new ObservedBackstore(new MemoryBackstore({ sizeBytes: SIZE }));
  const restarted = systemView(dir, 'primary', '6001405aaaaaaaa1', blank);
  const engineAgain = new ReplicationEngine({ view: restarted.view, transport: new RedisTransport(redis.url), options, reconcileMs: 200 });
  t.teardown(() => engineAgain.close());
  await engineAgain.start();
  t.ok(await engineAgain.waitSynchronized(status.pairId, 20_000), 'synchronized again after the restart');
  t.ok(await waitFor(async () => (await sha256Of(peerBackstore)) === (await sha256Of(blank)), 20_000), 'the replica is blank like the restarted source');
});

t.test('a memory LUN is refused as a mirror target, naming it (a replica restarted blank would look applied)', async (t) => {
  const dir = await tempDir(t);
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: false });
  t.teardown(() => redis.stop());
  const options = { probeIntervalMs: 100, stallTimeoutMs: 3000 };
  const primary = systemView(dir, 'primary', '6001405aaaaaaaa1', await fileBackstore(t, dir, 'primary.img', SIZE));
  const peer = systemView(dir, 'peer', '6001405bbbbbbbb2', new ObservedBackstore(new MemoryBackstore({ sizeBytes: SIZE })));
  const [enginePrimary] = await startEngines(t, redis.url, [primary.view, peer.view], options);
  const { Redis } = await import('ioredis');
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  t.ok(await waitFor(async () => (await admin.hlen('iscsi-sim:volumes:peer')) > 0), 'peer volume registered');
  t.equal(await enginePrimary.findFreeRemoteVolume(SIZE), undefined, 'no free remote volume is offered');
  await t.rejects(
    enginePrimary.createMirror({ source: { targetIqn: primary.lun.targetIqn, lun: 0 }, target: { system: 'peer', targetIqn: peer.lun.targetIqn, lun: 0, naa: peer.lun.naa }, mode: 'async' }),
    { message: /LUN 0 of iqn\.2026-11\.org\.iscsi-sim:peer on peer does not keep its data across a restart \(backstore memory\)/ },
  );
});
