/**
 * The replication pipeline against a real redis-server: source pair (capture → BullMQ) on one LUN,
 * replica applier on another, both in this process but talking only through Redis.
 */
import t from 'tap';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { EpochApplier } from '../../src/replication/apply/epoch-applier.ts';
import { SourcePair } from '../../src/replication/mirror/source-pair.ts';
import { ReplicaLiveness } from '../../src/replication/pipeline/replica-liveness.ts';
import { systemClock } from '../../src/replication/clock.ts';
import { RedisTransport } from '../../src/replication/transport/redis-transport.ts';
import { pairKeys } from '../../src/replication/keys.ts';
import { replicationOptions, type ReplicationOptions } from '../../src/replication/options.ts';
import type { PairRecord } from '../../src/replication/pair-types.ts';
import { encodePayload } from '../../src/replication/pipeline/payload.ts';
import type { Backstore } from '../../src/storage/backstore.ts';
import { fileBackstore, pattern, sha256Of, tempDir, waitFor, type TapLike } from '../unit/replication/helpers.ts';

const MiB = 1024 * 1024;
const SIZE = 32 * MiB;

async function redisFor(t: TapLike, dir: string): Promise<EmbeddedRedis> {
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: true });
  t.teardown(() => redis.stop());
  return redis;
}

/** A raw client: this test plays the source's part by hand. */
async function client(t: TapLike, url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());
  await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

async function transport(t: TapLike, url: string): Promise<RedisTransport> {
  const connection = new RedisTransport(url);
  t.teardown(() => connection.close());
  await connection.whenConnected(10_000);
  return connection;
}

function record(pairId: string, mode: 'sync' | 'async' = 'async'): PairRecord {
  return {
    pairId, mode, createdAt: new Date().toISOString(),
    source: { system: 'primary', targetIqn: 'iqn.2026-01.test:src', lun: 0, naa: '6001405000000001' },
    target: { system: 'peer', targetIqn: 'iqn.2026-01.test:dst', lun: 0, naa: '6001405000000002' },
  };
}

interface Rig {
  source: Backstore;
  replica: Backstore;
  pair: SourcePair;
  applier: EpochApplier;
  redis: EmbeddedRedis;
  dir: string;
}

async function rig(t: TapLike, options: Partial<ReplicationOptions> = {}, mode: 'sync' | 'async' = 'async', prepare?: (source: Backstore) => Promise<void>): Promise<Rig> {
  const dir = await tempDir(t);
  const redis = await redisFor(t, dir);
  const source = await fileBackstore(t, dir, 'source.img', SIZE);
  const replica = await fileBackstore(t, dir, 'replica.img', SIZE);
  if (prepare) await prepare(source);
  const opts = replicationOptions({ probeIntervalMs: 100, stallTimeoutMs: 2000, syncTimeoutMs: 60_000, ...options });
  const pairId = `p${Math.random().toString(16).slice(2, 10)}`;
  const replicaTransport = await transport(t, redis.url);
  const applier = new EpochApplier({ pairId, backstore: replica, journalBase: join(dir, 'replica'), transport: replicaTransport, options: opts });
  await applier.start();
  // The peer system's heartbeat, as its engine keeps it (the source's probe reads it while ahead).
  const liveness = new ReplicaLiveness(replicaTransport.store, 'peer', systemClock, opts.probeIntervalMs);
  await liveness.mark(pairId);
  t.teardown(async () => { liveness.close(); await applier.close(); });
  const pair = new SourcePair({ record: record(pairId, mode), backstore: source, dirtyMapPath: join(dir, 'source.dirty'), transport: await transport(t, redis.url), options: opts });
  await pair.start(true);
  t.teardown(() => pair.close());
  return { source, replica, pair, applier, redis, dir };
}

t.test('initial sync ships only allocated extents, then writes stream in order', async (t) => {
  const { source, replica, pair } = await rig(t, {}, 'async', async (lun) => {
    await lun.write(0, [pattern(MiB, 1)], { fua: false });
    await lun.write(20 * MiB, [pattern(MiB, 2)], { fua: false });
  });
  t.ok(await pair.drained(30_000), 'initial sync finished');
  const status = pair.status();
  t.equal(status.phase, 'streaming');
  t.equal(status.percentSynced, 100);
  t.ok(status.bytesResynced < 3 * MiB, `initial sync moved ${status.bytesResynced} bytes for 2 MiB of data in a ${SIZE}-byte LUN`);
  for (let i = 0; i < 200; i++) {
    await source.write((i % 50) * 64 * 1024 + (i % 7) * 512, [pattern(4096 + (i % 3) * 512, i)], { fua: i % 37 === 0 });
  }
  t.ok(await pair.drained(30_000), 'stream drained');
  t.equal(await sha256Of(replica), await sha256Of(source));
});

t.test('the replica applies in epoch order whatever BullMQ delivers, and redelivery is a no-op', async (t) => {
  const dir = await tempDir(t);
  const redis = await redisFor(t, dir);
  const replica = await fileBackstore(t, dir, 'replica.img', SIZE);
  const pairId = 'ordertest';
  const keys = pairKeys(pairId);
  const commands = await client(t, redis.url);
  const generation = 1000;
  // Every epoch overwrites the same block with its own number: only in-order apply leaves 6 there,
  // and epoch k also writes block k so we can see every epoch was applied.
  for (let epoch = 1; epoch <= 6; epoch++) {
    await commands.set(keys.payload(generation, epoch), encodePayload([
      { offset: 0, data: Buffer.alloc(512, epoch) },
      { offset: epoch * 512, data: Buffer.alloc(512, epoch) },
    ]));
  }
  const queue = new Queue(keys.queueName, { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: keys.queuePrefix });
  t.teardown(() => queue.close());
  const job = (epoch: number) => ({ pair: pairId, generation, epoch, key: keys.payload(generation, epoch), bytes: 0, resync: false });
  for (const epoch of [4, 2, 6, 1, 3]) await queue.add('epoch', job(epoch), { jobId: `${pairId}-g${generation}-e${epoch}-x` });
  const applier = new EpochApplier({ pairId, backstore: replica, journalBase: join(dir, 'replica'), transport: await transport(t, redis.url), options: replicationOptions({ probeIntervalMs: 60_000, applyConcurrency: 3 }) });
  await applier.start();
  t.teardown(() => applier.close());
  t.ok(await waitFor(() => applier.applied === 4), 'applied 1..4, waiting for 5');
  t.equal((await replica.read(0, 1))[0], 4);
  await queue.add('epoch', job(5), { jobId: `${pairId}-g${generation}-e5-x` });
  t.ok(await waitFor(() => applier.applied === 6));
  // Redelivery of old epochs (payload re-created as a retry would find it) changes nothing.
  await commands.set(keys.payload(generation, 2), encodePayload([{ offset: 0, data: Buffer.alloc(512, 2) }]));
  await queue.add('epoch', job(2), { jobId: `${pairId}-g${generation}-e2-redelivered` });
  t.ok(await waitFor(async () => (await commands.exists(keys.payload(generation, 2))) === 0), 'stale payload tidied up');
  const block0 = await replica.read(0, 512);
  t.equal(block0[0], 6, 'last epoch wins, in order');
  for (let epoch = 1; epoch <= 6; epoch++) t.equal((await replica.read(epoch * 512, 1))[0], epoch, `epoch ${epoch} applied`);
  t.equal(await commands.exists(keys.payload(generation, 6)), 0, 'payload keys deleted after apply');
  const ack = JSON.parse((await commands.get(keys.ack)) ?? '{}') as { applied: number; generation: number };
  t.same([ack.generation, ack.applied], [generation, 6]);
});

t.test('Redis down: I/O continues (pair ahead), then a resync ships only the dirty extents', async (t) => {
  const { source, replica, pair, redis } = await rig(t);
  await source.write(0, [pattern(8 * MiB, 9)], { fua: false });
  t.ok(await pair.drained(30_000));
  await redis.kill();
  const written: number[] = [];
  for (let i = 0; i < 64; i++) {
    const offset = 16 * MiB + i * 64 * 1024;
    await source.write(offset, [pattern(4096, i)], { fua: false }); // must not fail nor hang
    written.push(offset);
  }
  t.ok(await waitFor(() => pair.status().phase === 'ahead', 15_000), 'pair went ahead');
  t.equal(pair.status().dirtyGrains >= 64, true, 'dirty map tracks the writes');
  const resyncedBefore = pair.status().bytesResynced;
  await redis.restart();
  t.ok(await waitFor(() => pair.status().phase === 'streaming', 30_000), 'back to streaming');
  t.ok(await pair.drained(30_000));
  const resynced = pair.status().bytesResynced - resyncedBefore;
  t.ok(resynced <= 64 * 64 * 1024 + 64 * 1024, `resync shipped ${resynced} bytes (64 dirty grains), not the LUN`);
  t.equal(await sha256Of(replica), await sha256Of(source));
});

t.test('sync mode: a write completes only after the replica applied it', async (t) => {
  const { source, replica, pair, applier } = await rig(t, {}, 'sync');
  t.ok(await pair.drained(30_000));
  applier.pause();
  let resumed = false;
  // The order of events proves it: the write settles only after the stalled applier was resumed.
  const write = source.write(4096, [Buffer.alloc(4096, 0x5a)], { fua: false }).then(() => resumed);
  t.equal((await replica.read(4096, 1))[0], 0, 'not applied while the replica is stalled');
  resumed = true;
  applier.resume();
  t.equal(await write, true, 'status held while the replica is stalled, given once it applied');
  t.equal((await replica.read(4096, 1))[0], 0x5a, 'replica had it before the write completed');
});

t.test('online verify finds a diverged chunk on the replica and repairs it', async (t) => {
  const { source, replica, pair } = await rig(t, {}, 'async', async (lun) => {
    await lun.write(0, [pattern(4 * MiB, 3)], { fua: false });
  });
  t.ok(await pair.drained(30_000));
  const clean = await pair.verify();
  t.same([clean.divergent.length, clean.chunks, clean.inFlux], [0, SIZE / MiB, 0], 'no divergence after sync');
  // Damage the replica behind the pipeline's back (bit rot, a stray writer).
  await replica.write(2 * MiB + 4096, [Buffer.alloc(512, 0xee)], { fua: false });
  await replica.write(30 * MiB, [Buffer.alloc(512, 0xee)], { fua: false });
  const found = await pair.verify({ repair: true });
  t.same(found.divergent.map((d) => d.offset), [2 * MiB, 30 * MiB], 'both damaged chunks reported');
  t.ok(found.repaired);
  t.ok(await pair.drained(30_000));
  t.equal(await sha256Of(replica), await sha256Of(source), 'repaired by resync');
  t.equal((await pair.verify()).divergent.length, 0);
});

t.test('write-order fidelity: paused at random epoch boundaries, the replica equals the primary at that boundary', async (t) => {
  const LUN = 2 * MiB;
  const { source, replica, pair, applier } = await rig(t, { epochMaxMs: 2, grainBytes: 4096, activityExtentBytes: 64 * 1024 });
  t.ok(await pair.drained(30_000));
  // The acknowledged writes in order, each with the epoch it was captured in.
  const acked: Array<{ offset: number; data: Buffer; epoch: number }> = [];
  let seed = 42;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const dirty = pair.dirtyMap!;
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing && i < 3000; i++) {
      const offset = rand(LUN / 512 - 8) * 512;
      const data = Buffer.alloc(512 * (1 + rand(8)), i & 0xff);
      data.writeUInt32BE(i, 0);
      await source.write(offset, [data], { fua: rand(50) === 0 });
      acked.push({ offset, data, epoch: dirty.pendingEpoch(Math.floor(offset / 4096)) ?? 0 });
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const model = (upTo: number) => {
    const image = Buffer.alloc(LUN);
    for (const write of acked) if (write.epoch <= upTo) write.data.copy(image, write.offset);
    return image;
  };
  for (let round = 0; round < 5; round++) {
    // A random boundary: wait for 20-199 more acknowledged writes (a counter, not a time).
    const more = acked.length + 20 + rand(180);
    t.ok(await waitFor(() => acked.length >= more, 30_000), `round ${round}: ${more} writes acknowledged`);
    applier.pause();
    await waitFor(() => applier.idle);
    const boundary = applier.applied;
    const image = await replica.read(0, LUN);
    t.ok(model(boundary).equals(image), `round ${round}: replica = primary at epoch ${boundary} (${acked.length} writes so far)`);
    applier.resume();
  }
  writing = false;
  await writer;
  t.ok(await pair.drained(30_000));
  t.ok((await replica.read(0, LUN)).equals(await source.read(0, LUN)), 'and identical once drained');
});

t.test('UNMAP ships as a deallocation: the replica range reads zeros and is a hole again', async (t) => {
  const { source, replica, pair } = await rig(t);
  t.ok(await pair.drained(30_000), 'initial sync finished');
  await source.write(4 * MiB, [pattern(4 * MiB, 9)], { fua: false });
  t.ok(await pair.drained(30_000), 'data replicated');
  const shippedBefore = pair.status().bytesShipped;
  await source.unmap(4 * MiB, 4 * MiB);
  await source.flush();
  t.ok(await pair.drained(30_000), 'unmap replicated');
  t.ok(pair.status().bytesShipped - shippedBefore < 64 * 1024, `the unmap shipped ${pair.status().bytesShipped - shippedBefore} bytes, not 4 MiB of zeros`);
  t.ok((await replica.read(4 * MiB, 4 * MiB)).equals(Buffer.alloc(4 * MiB)), 'replica reads zeros');
  const extents = await replica.allocation(4 * MiB, 4 * MiB);
  // Without SEEK_HOLE support the backstore reports everything mapped (zero-fill fallback).
  const fallback = extents.length === 1 && extents[0].mapped;
  if (!fallback) t.same(extents, [{ offset: 4 * MiB, length: 4 * MiB, mapped: false }], 'the replica punched the range');
  t.equal(await sha256Of(replica), await sha256Of(source));
});
