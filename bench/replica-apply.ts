/**
 * Replica apply benchmark (`npx tsx bench/replica-apply.ts`): the replica side alone, in one process,
 * against a private redis-server (AOF on, as the lab runs it). PAIRS appliers share one RedisTransport
 * (as the pairs of one system do); epochs are shipped the way EpochShipper ships them (payload key,
 * then the queued announcement) by a second transport playing the source system.
 *
 * Two phases, each printed as a Markdown row:
 * - backlog: EPOCHS epochs per pair are queued first, then the appliers start; the time until every
 *   pair recorded its last epoch gives the apply capacity (epochs/s, MiB/s);
 * - fed: for FED_S seconds every pair ships one epoch every EPOCH_MS at FED_MIBS MiB/s in total (0:
 *   half the backlog capacity just measured); apply latency (ship → recorded on the replica, sampled
 *   every 5 ms) p50/p99 and the backlog left at the end say whether the replica keeps up.
 *
 * Where the time goes, per applied epoch: fdatasyncs (count and ms), Redis commands (INFO
 * commandstats), store calls of the replica and their wall time, CPU of this process and of Redis.
 * Profile with `node --cpu-prof --import tsx bench/replica-apply.ts`.
 *
 *   env: PAIRS=4 EPOCHS=200 EPOCH_KIB=256 WRITE_KIB=64 FED_S=20 FED_MIBS=0 EPOCH_MS=25 LUN_MIB=256
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../src/lab/embedded-redis.ts';
import { EpochApplier } from '../src/replication/apply/epoch-applier.ts';
import { pairKeys } from '../src/replication/keys.ts';
import { replicationOptions } from '../src/replication/options.ts';
import { encodePayload } from '../src/replication/pipeline/payload.ts';
import { RedisTransport } from '../src/replication/transport/redis-transport.ts';
import type { EpochProducer, KeyValueStore } from '../src/replication/transport/transport.ts';
import { SparseFileBackstore } from '../src/storage/sparse-file-backstore.ts';
import { cpuSeconds, percentile } from './stats.ts';

const MiB = 1024 * 1024;
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PAIRS = env('PAIRS', 4);
const EPOCHS = env('EPOCHS', 200);
const EPOCH_KIB = env('EPOCH_KIB', 256);
const WRITE_KIB = env('WRITE_KIB', 64);
const FED_S = env('FED_S', 20);
const FED_MIBS = env('FED_MIBS', 0);
const EPOCH_MS = env('EPOCH_MS', 25);
const LUN_MIB = env('LUN_MIB', 256);
const GENERATION = 1_700_000_000_000;

function say(text: string): void { process.stderr.write(`bench: ${text}\n`); }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts and times every FileHandle.datasync (journal, applied record, backstore flush). */
async function instrumentDatasync(dir: string): Promise<{ count: number; ms: number }> {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const tally = { count: 0, ms: 0 };
  const original = proto.datasync;
  proto.datasync = async function (this: unknown) {
    const started = performance.now();
    try { return await original.call(this); } finally { tally.count++; tally.ms += performance.now() - started; }
  };
  return tally;
}

/** Counts the replica's store calls and their summed wall time (overlapping calls add up). */
function instrumentStore(store: KeyValueStore): { calls: number; ms: number } {
  const tally = { calls: 0, ms: 0 };
  const target = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['get', 'getBuffer', 'set', 'del', 'exists', 'batch', 'publish']) {
    const original = target[name].bind(store);
    target[name] = async (...args: unknown[]) => {
      const started = performance.now();
      try { return await original(...args); } finally { tally.calls++; tally.ms += performance.now() - started; }
    };
  }
  return tally;
}

async function redisCommands(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/calls=(\d+)/g)) calls += Number(match[1]);
  return calls;
}

function epochPayload(bytes: number): Buffer {
  const extents = [];
  for (let at = 0; at < bytes; at += WRITE_KIB * 1024) {
    const length = Math.min(WRITE_KIB * 1024, bytes - at);
    extents.push({ offset: randomInt(0, (LUN_MIB * MiB - length) / 4096) * 4096, data: randomBytes(length) });
  }
  return encodePayload(extents);
}

class Feeder {
  readonly shippedAt = new Map<number, number>();
  next = 1;
  constructor(private readonly pairId: string, private readonly store: KeyValueStore, private readonly producer: EpochProducer) {}

  async ship(payload: Buffer): Promise<void> {
    const keys = pairKeys(this.pairId);
    const epoch = this.next++;
    const key = keys.payload(GENERATION, epoch);
    this.shippedAt.set(epoch, performance.now());
    await this.store.set(key, payload, { ttlMs: 3_600_000 });
    await this.producer.add({ pair: this.pairId, generation: GENERATION, epoch, key, bytes: payload.length, resync: false }, keys.jobId(GENERATION, epoch));
  }
}

interface Phase { epochs: number; bytes: number; seconds: number; syncs: number; syncMs: number; storeCalls: number; storeMs: number; redisCalls: number; cpu: number; redisCpu: number }

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-bench-apply-'));
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: true });
  const admin = new Redis(redis.url);
  const syncs = await instrumentDatasync(dir);
  const source = new RedisTransport(redis.url, { name: 'source' });
  const replica = new RedisTransport(redis.url, { name: 'replica' });
  await Promise.all([source.whenConnected(5000), replica.whenConnected(5000)]);
  const storeTally = instrumentStore(replica.store);
  const options = replicationOptions();
  const pairs = await Promise.all(Array.from({ length: PAIRS }, async (_, i) => {
    const pairId = `bench-${i}`;
    const backstore = await SparseFileBackstore.open({ path: join(dir, `replica-${i}.img`), sizeBytes: LUN_MIB * MiB, blockSize: 512 });
    const feeder = new Feeder(pairId, source.store, source.epochProducer(pairId));
    await source.store.set(pairKeys(pairId).generation, String(GENERATION));
    const applier = new EpochApplier({ pairId, backstore, journalBase: join(dir, `${pairId}.replica`), transport: replica, options });
    return { pairId, backstore, feeder, applier };
  }));

  const snapshot = async () => ({
    at: performance.now(), syncs: syncs.count, syncMs: syncs.ms, storeCalls: storeTally.calls, storeMs: storeTally.ms,
    redisCalls: await redisCommands(admin), cpu: process.cpuUsage(), redisCpu: cpuSeconds(redis.pid),
    applied: pairs.reduce((sum, p) => sum + p.applier.applied, 0), bytes: pairs.reduce((sum, p) => sum + p.applier.bytesApplied, 0),
  });
  const phase = (a: Awaited<ReturnType<typeof snapshot>>, b: Awaited<ReturnType<typeof snapshot>>): Phase => ({
    epochs: b.applied - a.applied, bytes: b.bytes - a.bytes, seconds: (b.at - a.at) / 1000,
    syncs: b.syncs - a.syncs, syncMs: b.syncMs - a.syncMs, storeCalls: b.storeCalls - a.storeCalls, storeMs: b.storeMs - a.storeMs,
    redisCalls: b.redisCalls - a.redisCalls,
    cpu: (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1e6, redisCpu: b.redisCpu - a.redisCpu,
  });
  const row = (name: string, p: Phase, extra = '') => {
    const e = Math.max(1, p.epochs);
    console.log(`| ${name} | ${p.epochs} | ${(p.epochs / p.seconds).toFixed(0)} | ${(p.bytes / MiB / p.seconds).toFixed(1)} | ${(p.syncs / e).toFixed(2)} | ${(p.syncMs / e).toFixed(2)} | ${(p.redisCalls / e).toFixed(1)} | ${(p.storeCalls / e).toFixed(1)} | ${(p.storeMs / e).toFixed(2)} | ${(p.cpu / (p.bytes / 1024 / MiB)).toFixed(1)} | ${(p.redisCpu / (p.bytes / 1024 / MiB)).toFixed(1)} | ${extra} |`);
  };

  try {
    say(`backlog: ${PAIRS} pairs × ${EPOCHS} epochs of ${EPOCH_KIB} KiB (${WRITE_KIB} KiB writes)`);
    const payloads = Array.from({ length: 8 }, () => epochPayload(EPOCH_KIB * 1024));
    for (let n = 0; n < EPOCHS; n++) await Promise.all(pairs.map((p) => p.feeder.ship(payloads[n % payloads.length])));
    const before = await snapshot();
    await Promise.all(pairs.map((p) => p.applier.start()));
    for (let deadline = Date.now() + 600_000; pairs.some((p) => p.applier.applied < EPOCHS) && Date.now() < deadline;) await sleep(5);
    const backlog = phase(before, await snapshot());
    const capacityMiBs = backlog.bytes / MiB / backlog.seconds;

    const fedMiBs = FED_MIBS > 0 ? FED_MIBS : capacityMiBs / 2;
    const perEpoch = Math.max(4096, Math.round((fedMiBs * MiB * EPOCH_MS) / 1000 / PAIRS / 4096) * 4096);
    say(`fed: ${FED_S} s at ${fedMiBs.toFixed(1)} MiB/s (${PAIRS} pairs × one ${(perEpoch / 1024).toFixed(0)} KiB epoch every ${EPOCH_MS} ms)`);
    const fedPayloads = Array.from({ length: 8 }, () => epochPayload(perEpoch));
    const latencies: number[] = [];
    const seen = pairs.map((p) => p.applier.applied);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = performance.now();
        pairs.forEach((p, i) => {
          for (let e = seen[i] + 1; e <= p.applier.applied; e++) latencies.push(now - p.feeder.shippedAt.get(e)!);
          seen[i] = p.applier.applied;
        });
        await sleep(5);
      }
    })();
    const fedStart = await snapshot();
    const startedAt = performance.now();
    let tick = 0;
    while (performance.now() - startedAt < FED_S * 1000) {
      await Promise.all(pairs.map((p) => p.feeder.ship(fedPayloads[tick % fedPayloads.length])));
      tick++;
      const due = startedAt + tick * EPOCH_MS;
      if (due > performance.now()) await sleep(due - performance.now());
    }
    const fedEnd = await snapshot();
    const shipped = tick * PAIRS;
    const behindAtEnd = pairs.reduce((sum, p) => sum + (p.feeder.next - 1 - p.applier.applied), 0);
    for (let deadline = Date.now() + 120_000; pairs.some((p) => p.applier.applied < p.feeder.next - 1) && Date.now() < deadline;) await sleep(5);
    sampling = false;
    await sampler;
    const fed = phase(fedStart, fedEnd);

    console.log(`\nReplica apply, ${PAIRS} pairs, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log('| phase | epochs | epochs/s | MiB/s | fdatasyncs/epoch | fdatasync ms/epoch | Redis cmds/epoch | store calls/epoch | store ms/epoch | CPU-s/GiB (bench) | CPU-s/GiB (redis) | |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    row(`backlog ${EPOCH_KIB} KiB`, backlog);
    row(`fed ${fedMiBs.toFixed(1)} MiB/s`, fed,
      `shipped ${shipped}, behind at end ${behindAtEnd}, latency p50 ${percentile(latencies, 50).toFixed(0)} ms p99 ${percentile(latencies, 99).toFixed(0)} ms max ${percentile(latencies, 100).toFixed(0)} ms`);
  } finally {
    await Promise.all(pairs.map((p) => p.applier.close().catch(() => undefined)));
    await Promise.all(pairs.map((p) => p.backstore.close().catch(() => undefined)));
    await source.close();
    await replica.close();
    admin.disconnect();
    await redis.stop();
    if (!process.env.KEEP_TMP) await rm(dir, { recursive: true, force: true });
  }
}

await main();
