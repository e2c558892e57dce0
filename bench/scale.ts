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
 *   raw-initiator sessions per system, queue depth 1 each) in phases of LOAD_S seconds: first unpaced
 *   (the most this machine takes), then paced to each of LOAD_FRACTIONS of that rate (a "moderate
 *   load" defined against the machine), or one phase paced to RATE_MIBS in all; per phase the
 *   aggregate throughput, RPO p50/p99 sampled every 250 ms over all pairs (each source's /metrics), and whether the replicas
 *   keep up (the RPO does not grow over the phase, every pair drains within 5 s after it);
 * - a table extrapolating the measured per-system and per-pair costs to 1,000 pairs.
 *
 *   env: SYSTEMS=4 LUNS=32 LUN_MIB=8 LOAD_S=20 WORKERS=4 IDLE_S=10 REDIS_CLUSTER=0 RATE_MIBS=0
 *        LOAD_FRACTIONS=0.25,0.5 KEEP_TMP=1
 * Needs redis-server (and redis-cli for REDIS_CLUSTER).
 */
import { randomBytes, randomInt } from 'node:crypto';
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
import { cpuSeconds, percentile, rssMiB } from './stats.ts';

const MiB = 1024 * 1024;
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SYSTEMS = env('SYSTEMS', 4);
const LUNS = env('LUNS', 32);
const LUN_MIB = env('LUN_MIB', 8);
const LOAD_S = env('LOAD_S', 20);
const WORKERS = env('WORKERS', 4);
const IDLE_S = env('IDLE_S', 10);
const CLUSTER_MASTERS = env('REDIS_CLUSTER', 0);
/** Total write rate of a single paced phase (MiB/s over all sessions); 0: an unpaced phase, then LOAD_FRACTIONS of its rate. */
const RATE_MIBS = env('RATE_MIBS', 0);
const LOAD_FRACTIONS = (process.env.LOAD_FRACTIONS ?? '0.25,0.5').split(',').map(Number);
const PAIRS_PER_SOURCE = LUNS / 2;
const PAIRS = SYSTEMS * PAIRS_PER_SOURCE;

function say(text: string): void { process.stderr.write(`bench: ${text}\n`); }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const layout = { masters: CLUSTER_MASTERS, replicasPerMaster: 0, basePort: await freeLoopbackPortRange(CLUSTER_MASTERS, { clusterBus: true }), dir: join(dir, 'redis-cluster') };
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

interface LoadPhase {
  readonly name: string;
  /** Total MiB/s asked for (undefined: as fast as the sessions go). */
  readonly offered: number | undefined;
  readonly mibPerSecond: number;
  readonly writesPerSecond: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
  readonly firstHalfP99: number;
  readonly secondHalfP99: number;
  readonly drainSeconds: number | undefined;
  readonly keepsUp: boolean;
}

const DRAIN_BOUND_S = 120;

/**
 * Each source pair's RPO and epochs behind as its system computes them now (its /metrics, role
 * "source"). The published status (readPairReports) is up to a reconcile period old and aged to now,
 * which overstates a short lag by up to that period.
 */
async function sourceLag(metricsUrls: readonly string[]): Promise<Array<{ rpo: number; behind: number }>> {
  const pairs = new Map<string, { rpo: number; behind: number }>();
  await Promise.all(metricsUrls.map(async (url) => {
    const text = await fetch(url).then((r) => r.text()).catch(() => '');
    for (const [, name, pair, value] of text.matchAll(/^iscsi_sim_replication_(rpo_seconds|epochs_behind)\{pair="([^"]+)",role="source"[^}]*\} (\S+)$/gm)) {
      const lag = pairs.get(pair!) ?? { rpo: NaN, behind: NaN };
      if (name === 'rpo_seconds') lag.rpo = Number(value); else lag.behind = Number(value);
      pairs.set(pair!, lag);
    }
  }));
  return [...pairs.values()];
}

/** Seconds until no source pair has anything unreplicated, undefined if not within `boundS`. */
async function drained(metricsUrls: readonly string[], boundS: number): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < boundS * 1000) {
    const lags = await sourceLag(metricsUrls);
    if (lags.length >= PAIRS && lags.every((l) => l.rpo === 0 && l.behind === 0)) return (performance.now() - started) / 1000;
    await sleep(100);
  }
  return undefined;
}

/** LOAD_S seconds of 4/16/64 KiB random writes over the source LUNs, paced to `rateMiBs` in all (undefined: unpaced). */
async function loadPhase(name: string, sessions: readonly TestSession[], metricsUrls: readonly string[], rateMiBs: number | undefined): Promise<LoadPhase> {
  say(`load: ${name} for ${LOAD_S} s`);
  const sizes = [4096, 16384, 65536];
  let bytes = 0;
  let issued = 0;
  let writes = 0;
  let failed = 0;
  let running = true;
  const samples: Array<{ at: number; rpo: number }> = [];
  const started = performance.now();
  const workers = sessions.map(async (session) => {
    while (running) {
      const size = sizes[randomInt(sizes.length)]!;
      if (rateMiBs !== undefined) {
        // One schedule for all sessions: the write that brings the total to `issued` is due at issued / rate.
        issued += size;
        const due = started + (issued / (rateMiBs * MiB)) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (!running) break;
      }
      const lun = randomInt(PAIRS_PER_SOURCE);
      const lba = randomInt((LUN_MIB * MiB - size) / 512);
      const result = await session.command(write10(lba, size / 512), { out: randomBytes(size), lun });
      if (result.status === 0) { bytes += size; writes++; } else failed++;
    }
  });
  const sampler = (async () => {
    while (running) {
      const at = performance.now() - started;
      for (const lag of await sourceLag(metricsUrls)) if (Number.isFinite(lag.rpo)) samples.push({ at, rpo: lag.rpo });
      await sleep(250);
    }
  })();
  await sleep(LOAD_S * 1000);
  running = false;
  await Promise.all(workers);
  await sampler;
  const seconds = (performance.now() - started) / 1000;
  const drainSeconds = await drained(metricsUrls, DRAIN_BOUND_S);
  const half = (LOAD_S * 1000) / 2;
  const firstHalfP99 = percentile(samples.filter((s) => s.at < half).map((s) => s.rpo), 99);
  const secondHalfP99 = percentile(samples.filter((s) => s.at >= half).map((s) => s.rpo), 99);
  const phase: LoadPhase = {
    name, offered: rateMiBs, mibPerSecond: bytes / MiB / seconds, writesPerSecond: writes / seconds, failed,
    p50: percentile(samples.map((s) => s.rpo), 50), p99: percentile(samples.map((s) => s.rpo), 99), firstHalfP99, secondHalfP99,
    drainSeconds, keepsUp: drainSeconds !== undefined && drainSeconds <= 5 && secondHalfP99 <= 1.5 * firstHalfP99 + 0.5,
  };
  say(`load: ${name}: ${fmt(phase.mibPerSecond)} MiB/s, RPO p50/p99 ${fmt(phase.p50, 2)}/${fmt(phase.p99, 2)} s, drained after ${drainSeconds === undefined ? 'never' : fmt(drainSeconds)} s`);
  return phase;
}

async function main(): Promise<void> {
  if (!Number.isInteger(PAIRS_PER_SOURCE) || SYSTEMS < 2) throw new Error('LUNS must be even and SYSTEMS at least 2');
  if (!(RATE_MIBS >= 0) || LOAD_FRACTIONS.some((f) => !(f > 0 && f <= 1))) throw new Error('RATE_MIBS must be 0 or more, LOAD_FRACTIONS numbers in (0, 1] separated by commas');
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-scale-'));
  const loadAtStart = os.loadavg().map((l) => l.toFixed(1)).join(' ');
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

    // Mixed write load over all source LUNs: first as fast as the sessions go (the machine's maximum
    // here), then at fractions of that rate (or at RATE_MIBS), each phase from drained pairs.
    const sessions = await Promise.all(children.flatMap((child) => Array.from({ length: WORKERS }, async () => {
      const session = await TestSession.login('127.0.0.1', child.summary.portals[0]!.port, { targetName: child.summary.targets[0]!.iqn, timeoutMs: 30_000 });
      // Each LUN reports its power-on unit attention once to a new session: taken here, not counted.
      for (let lun = 0; lun < PAIRS_PER_SOURCE; lun++) {
        for (let attempt = 0; attempt < 3 && (await session.command(read10(0, 1), { inLength: 512, lun })).status !== 0; attempt++);
      }
      return session;
    })));
    const metricsUrls = children.map((_, i) => `http://127.0.0.1:${base + 2 * SYSTEMS + i}/metrics`);
    const phases: LoadPhase[] = [];
    if (RATE_MIBS > 0) {
      phases.push(await loadPhase(`${fmt(RATE_MIBS)} MiB/s (RATE_MIBS)`, sessions, metricsUrls, RATE_MIBS));
    } else {
      const max = await loadPhase('unlimited (the maximum here)', sessions, metricsUrls, undefined);
      phases.push(max);
      for (const fraction of LOAD_FRACTIONS) {
        phases.push(await loadPhase(`${fmt(fraction * 100, 0)} % of the maximum`, sessions, metricsUrls, fraction * max.mibPerSecond));
      }
    }
    await Promise.all(sessions.map((s) => s.logout().catch(() => undefined)));
    const memoryAfterLoad = (await redisInfo(ports)).memoryMiB;

    const perSystemPairs = 2 * PAIRS_PER_SOURCE; // source of half, target of as many
    const rssPerPair = (mean(full.rss) - mean(empty.rss)) / perSystemPairs;
    const cpuPerPair = (mean(full.cpuPercent) - mean(empty.cpuPercent)) / perSystemPairs;
    const commandsPerPair = (full.commandsPerSecond - empty.commandsPerSecond) / PAIRS;
    const memoryPerPair = (full.memoryMiB - empty.memoryMiB) / PAIRS;
    const connections = Math.max(...atAll.values());
    // The moderate load: the fastest paced phase the replicas kept up with (else the slowest paced one).
    const paced = phases.filter((p) => p.offered !== undefined).sort((a, b) => a.offered! - b.offered!);
    const moderate = [...paced].reverse().find((p) => p.keepsUp) ?? paced[0] ?? phases[0]!;
    const lines: string[] = [];
    lines.push(`${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} CPUs, Node ${process.version}, ${CLUSTER_MASTERS ? `Redis Cluster of ${CLUSTER_MASTERS} masters` : 'one redis-server'}; `
      + `${SYSTEMS} systems × ${LUNS} LUNs of ${LUN_MIB} MiB, ${PAIRS} async pairs made through CIM (each system the source of ${PAIRS_PER_SOURCE} and the target of ${PAIRS_PER_SOURCE}); `
      + `${sessions.length} initiator sessions; load average ${loadAtStart} at the start, ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end.`);
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
    lines.push(`| Redis memory, no pairs → ${PAIRS} pairs idle → after the load | ${fmt(empty.memoryMiB)} → ${fmt(full.memoryMiB)} → ${fmt(memoryAfterLoad)} MiB (${fmt(memoryPerPair * 1024, 0)} KiB per idle pair) |`);
    lines.push('');
    lines.push(`Mixed write load (4/16/64 KiB random writes over the ${PAIRS} source LUNs, ${sessions.length} sessions at queue depth 1, ${LOAD_S} s a phase; RPO of every pair as its source computes it (/metrics) every 250 ms; `
      + '"keeps up": the RPO p99 of the second half of the phase is at most 1.5 × that of the first half + 0.5 s, and every pair drains within 5 s after the writes stop):');
    lines.push('');
    lines.push('| offered load | achieved | failed writes | RPO p50 / p99 | RPO p99 1st / 2nd half | drained after the load | keeps up |');
    lines.push('|---|---:|---:|---:|---:|---:|:---:|');
    for (const phase of phases) {
      lines.push(`| ${phase.name} | ${fmt(phase.mibPerSecond)} MiB/s, ${fmt(phase.writesPerSecond, 0)} writes/s | ${phase.failed} | ${fmt(phase.p50, 2)} / ${fmt(phase.p99, 2)} s | `
        + `${fmt(phase.firstHalfP99, 2)} / ${fmt(phase.secondHalfP99, 2)} s | ${phase.drainSeconds === undefined ? `not within ${DRAIN_BOUND_S} s` : `${fmt(phase.drainSeconds)} s`} | ${phase.keepsUp ? 'yes' : 'no'} |`);
    }
    lines.push('');
    lines.push(`Per pair (measured at ${PAIRS} idle pairs): ${fmt(rssPerPair * 1024, 0)} KiB RSS and ${fmt(cpuPerPair, 3)} % of a CPU per pair-side (a pair has two), `
      + `${fmt(commandsPerPair, 2)} Redis commands/s and ${fmt(memoryPerPair * 1024, 0)} KiB of Redis memory per idle pair; ${connections} Redis connections per system whatever its pairs. `
      + `Extrapolated linearly (systems of ${LUNS} LUNs, each the source of ${PAIRS_PER_SOURCE} pairs; the write rate per pair of the "${moderate.name}" phase):`);
    lines.push('');
    lines.push('| pairs | systems | Redis connections per system / all | RSS (all systems) | idle CPU (all systems) | Redis commands/s idle | Redis memory idle | write load at that rate per pair |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const pairs of [PAIRS, 250, 500, 1000]) {
      const systems = Math.ceil(pairs / PAIRS_PER_SOURCE);
      const rss = systems * mean(empty.rss) + 2 * pairs * rssPerPair;
      const cpu = systems * mean(empty.cpuPercent) + 2 * pairs * cpuPerPair;
      lines.push(`| ${pairs}${pairs === PAIRS ? ' (measured)' : ''} | ${systems} | ${connections} / ${systems * connections} | ${fmt(rss / 1024, 2)} GiB | ${fmt(cpu / 100, 2)} CPUs | `
        + `${fmt(empty.commandsPerSecond * (systems / SYSTEMS) + pairs * commandsPerPair, 0)} | ${fmt(empty.memoryMiB + pairs * memoryPerPair, 0)} MiB | ${fmt(moderate.mibPerSecond * (pairs / PAIRS), 0)} MiB/s |`);
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
