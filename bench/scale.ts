/**
 * Scale benchmark (`npx tsx bench/scale.ts`): SYSTEMS `serve` processes with LUNS small sparse LUNs
 * each, one private redis-server (or an embedded Redis Cluster with REDIS_CLUSTER=N masters), and
 * SYSTEMS × LUNS / 2 async mirrors created through CIM (CreateRemoteReplicationCollection +
 * CreateElementReplica on each source's ReplicationService): system i mirrors its first LUNS/2 LUNs
 * to the last LUNS/2 of system i+1, so every system is the source of LUNS/2 pairs and the target of
 * as many. Prints Markdown:
 *
 * - time to create the pairs (CIM calls, then until every pair streams);
 * - Redis connections per system (CLIENT LIST grouped by connection name) with 1 pair and with all;
 * - RSS and idle CPU per system before any pair and with all pairs (10 s idle windows), Redis
 *   commands per second at idle and Redis memory;
 * - a mixed write load (4, 16 and 64 KiB writes at random offsets of random source LUNs, WORKERS
 *   raw-initiator sessions per system, queue depth 1 each) for LOAD_S seconds: aggregate throughput
 *   and RPO p50/p99 sampled every 250 ms over all pairs;
 * - a table extrapolating the measured per-system and per-pair costs to 1,000 pairs.
 *
 *   env: SYSTEMS=4 LUNS=32 LUN_MIB=8 LOAD_S=20 WORKERS=4 IDLE_S=10 REDIS_CLUSTER=0 KEEP_TMP=1
 * Needs redis-server (and redis-cli for REDIS_CLUSTER).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CimClient } from '../src/cim/client/client.ts';
import { clusterNodes, clusterUrlOf, formCluster, launchClusterNode } from '../src/lab/embedded-cluster.ts';
import { freeLoopbackPortRange, startEmbeddedRedis } from '../src/lab/embedded-redis.ts';
import { createMirror, ensureCollection, waitForJob } from '../src/lab/lab-cim-setup.ts';
import { startSystemChild, type SystemChild } from '../src/lab/system-child.ts';
import { readPairReports } from '../src/replication/status-reader.ts';
import { connectRedis, type RedisClient } from '../src/util/redis-endpoint.ts';
import { read10, write10 } from '../test/support/cdbs.ts';
import { TestSession } from '../test/support/iscsi-wire/session.ts';

const MiB = 1024 * 1024;
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SYSTEMS = env('SYSTEMS', 4);
const LUNS = env('LUNS', 32);
const LUN_MIB = env('LUN_MIB', 8);
const LOAD_S = env('LOAD_S', 20);
const WORKERS = env('WORKERS', 4);
const IDLE_S = env('IDLE_S', 10);
const CLUSTER_MASTERS = env('REDIS_CLUSTER', 0);
const PAIRS_PER_SOURCE = LUNS / 2;
const PAIRS = SYSTEMS * PAIRS_PER_SOURCE;

function say(text: string): void { process.stderr.write(`bench: ${text}\n`); }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface RedisSide {
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

async function startRedis(dir: string): Promise<RedisSide> {
  if (CLUSTER_MASTERS === 0) {
    const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: true });
    return { url: redis.url, ports: [redis.port], stop: () => redis.stop() };
  }
  const layout = { masters: CLUSTER_MASTERS, replicasPerMaster: 0, basePort: await freeLoopbackPortRange(CLUSTER_MASTERS), dir: join(dir, 'redis-cluster') };
  const nodes = clusterNodes(layout);
  const processes = await Promise.all(nodes.map((node) => launchClusterNode(node, layout)));
  await formCluster(nodes, layout);
  return { url: clusterUrlOf(nodes), ports: nodes.map((n) => n.port), stop: async () => { await Promise.all(processes.map((p) => p.stop())); } };
}

/** CLIENT LIST over every node, connections counted per system (name iscsi-sim:<system>:…). */
async function connectionsPerSystem(ports: readonly number[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const port of ports) {
    const node = connectRedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    const list = String(await node.call('CLIENT', 'LIST'));
    node.disconnect();
    for (const line of list.split('\n')) {
      const system = /name=\S*?iscsi-sim:([^:\s]+):/.exec(line)?.[1];
      if (system) counts.set(system, (counts.get(system) ?? 0) + 1);
    }
  }
  return counts;
}

interface RedisInfo { commands: number; memoryMiB: number; perCommand: Map<string, number> }

/** Sum over the nodes of INFO fields (total_commands_processed, used_memory, calls per command). */
async function redisInfo(ports: readonly number[]): Promise<RedisInfo> {
  let commands = 0;
  let memory = 0;
  const perCommand = new Map<string, number>();
  for (const port of ports) {
    const node = connectRedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    const text = String(await node.call('INFO', 'all'));
    node.disconnect();
    commands += Number(/total_commands_processed:(\d+)/.exec(text)?.[1] ?? 0);
    memory += Number(/used_memory:(\d+)/.exec(text)?.[1] ?? 0);
    for (const [, name, calls] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) perCommand.set(name!, (perCommand.get(name!) ?? 0) + Number(calls));
  }
  return { commands, memoryMiB: memory / MiB, perCommand };
}

/** Commands per second by name between two INFO readings, busiest first ("get 12.3, set 4.0, …"). */
function commandMix(before: RedisInfo, after: RedisInfo, seconds: number): string {
  return [...after.perCommand]
    .map(([name, calls]) => [name, (calls - (before.perCommand.get(name) ?? 0)) / seconds] as const)
    .filter(([name, rate]) => rate > 0.05 && name !== 'info')
    .sort((a, b) => b[1] - a[1])
    .map(([name, rate]) => `${name} ${rate.toFixed(1)}`)
    .join(', ');
}

interface Measure { cpuPercent: number[]; rss: number[]; commandsPerSecond: number; memoryMiB: number; mix: string }

/** IDLE_S seconds with nothing written: CPU % and RSS per system, Redis commands/s. */
async function idle(systems: readonly SystemChild[], ports: readonly number[]): Promise<Measure> {
  const before = systems.map((s) => cpuSeconds(s.process.pid));
  const info = await redisInfo(ports);
  const started = performance.now();
  await sleep(IDLE_S * 1000);
  const seconds = (performance.now() - started) / 1000;
  const after = await redisInfo(ports);
  return {
    cpuPercent: systems.map((s, i) => ((cpuSeconds(s.process.pid) - before[i]!) / seconds) * 100),
    rss: systems.map((s) => rssMiB(s.process.pid)),
    commandsPerSecond: (after.commands - info.commands) / seconds - 2 / seconds, // minus our own INFO calls
    memoryMiB: after.memoryMiB,
    mix: commandMix(info, after, seconds),
  };
}

async function allStreaming(redis: RedisClient, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const reports = await readPairReports(redis).catch(() => []);
    if (reports.length >= count && reports.every((r) => r.status?.phase === 'streaming' && r.status.percentSynced === 100)) return;
    await sleep(250);
  }
  throw new Error(`the ${count} pairs did not all reach streaming within ${timeoutMs / 1000} s`);
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

async function main(): Promise<void> {
  if (!Number.isInteger(PAIRS_PER_SOURCE) || SYSTEMS < 2) throw new Error('LUNS must be even and SYSTEMS at least 2');
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-scale-'));
  const children: SystemChild[] = [];
  let redisSide: RedisSide | undefined;
  let admin: RedisClient | undefined;
  try {
    redisSide = await startRedis(dir);
    say(`redis at ${redisSide.url}; ${SYSTEMS} systems × ${LUNS} LUNs of ${LUN_MIB} MiB; ${PAIRS} pairs`);
    admin = connectRedis(redisSide.url, { maxRetriesPerRequest: 2 });
    admin.on('error', () => undefined);
    const base = await freeLoopbackPortRange(SYSTEMS * 3);
    const names = Array.from({ length: SYSTEMS }, (_, i) => `s${i}`);
    for (const [i, name] of names.entries()) {
      const stateDir = join(dir, name);
      await mkdir(stateDir, { recursive: true });
      const config = {
        name,
        stateDir,
        portals: [`127.0.0.1:${base + i}`],
        targets: [{ iqn: `iqn.2026-11.org.iscsi-sim:${name}.disk`, luns: Array.from({ length: LUNS }, (_, lun) => ({ lun, file: `lun${lun}.img`, size: `${LUN_MIB}M` })) }],
        cim: { address: '127.0.0.1', port: base + SYSTEMS + i },
        peers: names.filter((other) => other !== name).map((other) => ({ name: other, cimUrl: `http://127.0.0.1:${base + SYSTEMS + names.indexOf(other)}` })),
        redisUrl: redisSide.url,
        metrics: { address: '127.0.0.1', port: base + 2 * SYSTEMS + i },
      };
      const configPath = join(stateDir, 'system.yaml');
      await writeFile(configPath, stringify(config));
      children.push(await startSystemChild(name, configPath, stateDir, 120_000));
    }
    const ports = redisSide.ports;
    await sleep(3000); // past start-up
    say('idle, no pairs');
    const empty = await idle(children, ports);
    say(`idle commands/s, no pairs: ${empty.mix}`);

    // Pairs through CIM, like an SMI-S client: a collection per source→target, then one mirror per LUN.
    const cims = children.map((c) => new CimClient({ url: c.summary.cimUrl!, timeoutMs: 60_000 }));
    const collections = await Promise.all(children.map((c, i) => ensureCollection(cims[i]!, c.summary, children[(i + 1) % SYSTEMS]!.summary)));
    const create = async (i: number, k: number) => {
      const job = await createMirror(cims[i]!, children[i]!.summary, children[(i + 1) % SYSTEMS]!.summary, collections[i]!, 'async', k, PAIRS_PER_SOURCE + k);
      if (job) await waitForJob(cims[i]!, job, 300_000);
    };
    await create(0, 0);
    await allStreaming(admin, 1, 120_000);
    await sleep(2500);
    const atOne = await connectionsPerSystem(ports);
    say(`connections with 1 pair: ${JSON.stringify(Object.fromEntries(atOne))}`);
    const createStarted = performance.now();
    await Promise.all(children.map(async (_, i) => {
      for (let k = i === 0 ? 1 : 0; k < PAIRS_PER_SOURCE; k++) await create(i, k);
    }));
    const cimSeconds = (performance.now() - createStarted) / 1000;
    await allStreaming(admin, PAIRS, 600_000);
    const createSeconds = (performance.now() - createStarted) / 1000;
    say(`${PAIRS - 1} more pairs: CIM calls done in ${fmt(cimSeconds)} s, all streaming after ${fmt(createSeconds)} s`);
    await sleep(2500);
    const atAll = await connectionsPerSystem(ports);
    say('idle, all pairs');
    const full = await idle(children, ports);
    say(`idle commands/s, ${PAIRS} pairs: ${full.mix}`);

    // Mixed write load over all source LUNs.
    say(`mixed write load for ${LOAD_S} s`);
    const sessions = await Promise.all(children.flatMap((child) => Array.from({ length: WORKERS }, async () => {
      const session = await TestSession.login('127.0.0.1', child.summary.portals[0]!.port, { targetName: child.summary.targets[0]!.iqn, timeoutMs: 30_000 });
      // Each LUN reports its power-on unit attention once to a new session: taken here, not counted.
      for (let lun = 0; lun < PAIRS_PER_SOURCE; lun++) {
        for (let attempt = 0; attempt < 3 && (await session.command(read10(0, 1), { inLength: 512, lun })).status !== 0; attempt++);
      }
      return session;
    })));
    const sizes = [4096, 16384, 65536];
    let bytes = 0;
    let writes = 0;
    let failed = 0;
    let running = true;
    const rpo: number[] = [];
    const loadStarted = performance.now();
    const workers = sessions.map(async (session) => {
      while (running) {
        const size = sizes[randomInt(sizes.length)]!;
        const lun = randomInt(PAIRS_PER_SOURCE);
        const lba = randomInt((LUN_MIB * MiB - size) / 512);
        const result = await session.command(write10(lba, size / 512), { out: randomBytes(size), lun });
        if (result.status === 0) { bytes += size; writes++; } else failed++;
      }
    });
    const sampler = (async () => {
      while (running) {
        for (const report of await readPairReports(admin!).catch(() => [])) if (report.status) rpo.push(report.status.rpoSeconds);
        await sleep(250);
      }
    })();
    await sleep(LOAD_S * 1000);
    running = false;
    await Promise.all(workers);
    await sampler;
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    await Promise.all(sessions.map((s) => s.logout().catch(() => undefined)));
    const memoryAfterLoad = (await redisInfo(ports)).memoryMiB;

    const perSystemPairs = 2 * PAIRS_PER_SOURCE; // source of half, target of as many
    const rssPerPair = (mean(full.rss) - mean(empty.rss)) / perSystemPairs;
    const cpuPerPair = (mean(full.cpuPercent) - mean(empty.cpuPercent)) / perSystemPairs;
    const commandsPerPair = (full.commandsPerSecond - empty.commandsPerSecond) / PAIRS;
    const memoryPerPair = (full.memoryMiB - empty.memoryMiB) / PAIRS;
    const connections = Math.max(...atAll.values());
    const lines: string[] = [];
    lines.push(`${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} CPUs, Node ${process.version}, ${CLUSTER_MASTERS ? `Redis Cluster of ${CLUSTER_MASTERS} masters` : 'one redis-server'}; `
      + `${SYSTEMS} systems × ${LUNS} LUNs of ${LUN_MIB} MiB, ${PAIRS} async pairs made through CIM (each system the source of ${PAIRS_PER_SOURCE} and the target of ${PAIRS_PER_SOURCE}); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`);
    lines.push('');
    lines.push('| measure | figure |');
    lines.push('|---|---:|');
    lines.push(`| time to create ${PAIRS - 1} pairs (CIM calls) | ${fmt(cimSeconds)} s |`);
    lines.push(`| time until all ${PAIRS} pairs stream (initial sync of sparse LUNs included) | ${fmt(createSeconds)} s |`);
    lines.push(`| Redis connections per system, 1 pair | ${names.map((n) => atOne.get(n) ?? 0).join(' / ')} |`);
    lines.push(`| Redis connections per system, ${PAIRS} pairs | ${names.map((n) => atAll.get(n) ?? 0).join(' / ')} |`);
    lines.push(`| RSS per system, no pairs → ${PAIRS} pairs | ${fmt(mean(empty.rss), 0)} → ${fmt(mean(full.rss), 0)} MiB (${fmt(rssPerPair * 1024, 0)} KiB per pair-side) |`);
    lines.push(`| idle CPU per system, no pairs → ${PAIRS} pairs | ${fmt(mean(empty.cpuPercent), 2)} → ${fmt(mean(full.cpuPercent), 2)} % of one CPU (${fmt(cpuPerPair, 3)} % per pair-side) |`);
    lines.push(`| Redis commands/s at idle, no pairs → ${PAIRS} pairs | ${fmt(empty.commandsPerSecond, 0)} → ${fmt(full.commandsPerSecond, 0)} (${fmt(commandsPerPair, 2)} per pair) |`);
    lines.push(`| Redis memory, no pairs → ${PAIRS} pairs idle → after the load | ${fmt(empty.memoryMiB)} → ${fmt(full.memoryMiB)} → ${fmt(memoryAfterLoad)} MiB |`);
    lines.push(`| mixed write load: ${sessions.length} sessions, 4/16/64 KiB random writes | ${fmt(bytes / MiB / loadSeconds)} MiB/s, ${fmt(writes / loadSeconds, 0)} writes/s, ${failed} failed |`);
    lines.push(`| RPO over all pairs during the load, p50 / p99 | ${fmt(percentile(rpo, 50), 2)} / ${fmt(percentile(rpo, 99), 2)} s (${rpo.length} samples) |`);
    lines.push('');
    lines.push(`Extrapolated linearly from the figures above (systems of ${LUNS} LUNs, each the source of ${PAIRS_PER_SOURCE} pairs; the same write rate per pair):`);
    lines.push('');
    lines.push('| pairs | systems | Redis connections (all systems) | RSS (all systems) | idle CPU (all systems) | Redis commands/s idle | Redis memory idle | write load at this run\'s rate per pair |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const pairs of [PAIRS, 250, 500, 1000]) {
      const systems = Math.ceil(pairs / PAIRS_PER_SOURCE);
      const rss = systems * mean(empty.rss) + 2 * pairs * rssPerPair;
      const cpu = systems * mean(empty.cpuPercent) + 2 * pairs * cpuPerPair;
      lines.push(`| ${pairs}${pairs === PAIRS ? ' (measured)' : ''} | ${systems} | ${systems * connections} | ${fmt(rss / 1024, 2)} GiB | ${fmt(cpu / 100, 2)} CPUs | ${fmt(empty.commandsPerSecond + pairs * commandsPerPair, 0)} | ${fmt(empty.memoryMiB + pairs * memoryPerPair, 0)} MiB | ${fmt((bytes / MiB / loadSeconds) * (pairs / PAIRS), 0)} MiB/s |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    admin?.disconnect();
    await Promise.all(children.map((c) => c.stop(8000)));
    await redisSide?.stop();
    if (!process.env.KEEP_TMP) await rm(dir, { recursive: true, force: true });
    else say(`kept ${dir}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
