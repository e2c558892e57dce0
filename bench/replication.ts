/**
 * Replication benchmark (`npx tsx bench/replication.ts`): the lab's processes (private redis-server,
 * primary and peer `serve` processes, async mirror made through CIM) and a plain `serve` without
 * replication, driven by qemu-img through their portals. Prints, per CPU placement, a Markdown table:
 * write throughput with replication off (plain) vs on (primary) and the ratio, CPU-seconds per run of
 * every process (plain / primary, peer, redis, the initiator) and the primary's CPU on/off ratio, drain
 * time, RPO percentiles sampled from the primary's /metrics (the plain server's is scraped as often),
 * Redis memory (used_memory sampled every 100 ms, and used_memory_peak) against the in-flight bound; then a sustained phase: a paced writer (bench/paced-writer.ts) at SUSTAIN_PCT % of the
 * replication-on rate for DURATION_S, with RPO p50/p99 and whether the replica kept up.
 *
 * Placements (PIN): unpinned, everything on every CPU; pinned, as if the peer were another host: the
 * plain and primary `serve` processes and the initiator on CPU 0, the peer `serve` and redis-server on
 * CPU 1 (taskset, all threads). Off and on alternate within a round, and the placements alternate too;
 * medians of ROUNDS rounds. The page cache is written back (`sync`) before every timed write.
 *
 *   env: SIZE_MIB=256    data written per run
 *        ROUNDS=3        rounds (medians reported)
 *        PIN=0|1|both    unpinned (default), pinned, or both alternating
 *        DURATION_S=60   sustained phase length; 0 skips it (runs pinned when PIN includes it)
 *        SUSTAIN_PCT=50  sustained rate, % of the replication-on rate
 *        SUSTAIN_OF=replicated  that rate: data over write + drain (default), or burst (the write alone,
 *                        inflated by the in-flight buffer)
 *        KEEP_TMP=1      keep the temp dir (logs, LUN files)
 *        ISCSI_SIM_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"  profile the serve processes
 * Needs qemu-utils + qemu-block-extra, redis-server, taskset (util-linux) for PIN, /usr/bin/time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { CimClient } from '../src/cim/client/client.ts';
import { freeLoopbackPort, freeLoopbackPortRange, startEmbeddedRedis } from '../src/lab/embedded-redis.ts';
import { createMirror, ensureCollection, waitForJob } from '../src/lab/lab-cim-setup.ts';
import { labPorts, writeLabConfigs } from '../src/lab/lab-config.ts';
import { startSystemChild, type SystemChild } from '../src/lab/system-child.ts';
import { pairKeys } from '../src/replication/keys.ts';
import { ALL_PAIRS_KEY } from '../src/replication/mirror/pair-registry.ts';
import { defaultReplicationOptions } from '../src/replication/options.ts';
import { cpuSeconds, median, percentile } from './stats.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.SIZE_MIB ?? 256);
const rounds = Math.max(1, Math.min(10, Number(process.env.ROUNDS ?? 3)));
const durationS = Number(process.env.DURATION_S ?? 60);
const sustainPct = Number(process.env.SUSTAIN_PCT ?? 50);
const sustainOf = process.env.SUSTAIN_OF ?? 'replicated';
const pinSetting = process.env.PIN ?? '0';
const here = dirname(fileURLToPath(import.meta.url));

type Placement = 'unpinned' | 'pinned';
const placements: Placement[] = pinSetting === 'both' ? ['unpinned', 'pinned'] : pinSetting === '1' ? ['pinned'] : pinSetting === '0' ? ['unpinned'] : [];

function say(text: string): void { process.stderr.write(`bench: ${text}\n`); }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sets the CPU affinity of every thread of `pid` (threads it starts later inherit it). */
function pin(pid: number | undefined, cpus: string): void {
  if (pid === undefined) return;
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${result.stderr}`);
}

/** Page-cache writeback of earlier runs must not be charged to the next one. */
function syncDisks(): void {
  spawnSync('sync', [], { timeout: 120_000 });
}

/** The command as given, on `cpus` when set. */
function placed(cpus: string | undefined, command: string[]): string[] {
  return cpus === undefined ? command : ['taskset', '-c', cpus, ...command];
}

/** qemu-img writes `source` to `url`; resolves its wall time and CPU (from /usr/bin/time). */
async function qemuWrite(source: string, url: string, cpus: string | undefined, timeFile: string): Promise<{ seconds: number; cpu: number }> {
  const command = placed(cpus, ['/usr/bin/time', '-f', '%U %S', '-o', timeFile, 'qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', source, url]);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`qemu-img failed: ${stderr}`))));
  });
  const seconds = (performance.now() - started) / 1000;
  const [user, system] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
  return { seconds, cpu: user + system };
}

interface Sample { at: number; rpo: number; behind: number; epochsBehind: number; dirty: number; copyState: number }

function metric(text: string, name: string): number | undefined {
  const found = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return found ? Number(found[1]) : undefined;
}

async function scrape(url: string): Promise<Sample | undefined> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(1000) })).text();
    return {
      at: Date.now(),
      rpo: metric(text, 'iscsi_sim_replication_rpo_seconds') ?? Number.NaN,
      behind: metric(text, 'iscsi_sim_replication_bytes_behind') ?? 0,
      epochsBehind: metric(text, 'iscsi_sim_replication_epochs_behind') ?? 0,
      dirty: metric(text, 'iscsi_sim_replication_dirty_grains') ?? 0,
      copyState: metric(text, 'iscsi_sim_replication_copy_state') ?? 0,
    };
  } catch {
    return undefined; // a missed sample is fine
  }
}

/**
 * Samples /metrics every `everyMs` until `stop()`. A scrape costs the scraped process a few ms of CPU
 * (prom-client's default metrics), so the off run's plain server is scraped at the same rate.
 */
async function sampleMetrics(url: string, into: Sample[], stop: () => boolean, everyMs = 250): Promise<void> {
  while (!stop()) {
    const sample = await scrape(url);
    if (sample) into.push(sample);
    await sleep(everyMs);
  }
}

/** Samples Redis used_memory every 100 ms until `stop()` (CONFIG RESETSTAT does not reset used_memory_peak on Redis 7.0). */
async function sampleRedisMemory(client: Redis, stop: () => boolean): Promise<number> {
  let max = 0;
  while (!stop()) {
    const info = await client.info('memory').catch(() => '');
    max = Math.max(max, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
    await sleep(100);
  }
  return max;
}

async function redisPeak(client: Redis): Promise<number> {
  return Number(/used_memory_peak:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
}

/** The replica's last applied epoch, from the pair's ack key in Redis. */
async function appliedEpoch(client: Redis, ackKey: string): Promise<number> {
  const text = await client.get(ackKey);
  return text ? Number((JSON.parse(text) as { applied?: number }).applied ?? 0) : 0;
}

/**
 * Seconds until the replica holds everything (nothing in flight, open or dirty); NaN after `limitS`.
 * Scraping /metrics costs the primary CPU, so with `ack` the wait mostly watches the ack key in Redis:
 * one scrape tells how many epochs are still to be applied, and /metrics is asked again once they are.
 */
async function drainSeconds(url: string, limitS = 300, ack?: { client: Redis; key: string }): Promise<number> {
  const started = performance.now();
  if (ack) {
    await sleep(100); // the open epoch is sealed within epochMaxMs (25 ms)
    const before = await appliedEpoch(ack.client, ack.key);
    const sample = await scrape(url);
    if (sample && (await appliedEpoch(ack.client, ack.key)) === before) {
      // The source may learn of an ack after the key changed, so `last` can be too high: the wait also
      // ends once the key stood still for 300 ms, and /metrics decides.
      const last = before + sample.epochsBehind;
      let applied = before;
      let movedAt = performance.now();
      while (performance.now() - started < limitS * 1000 && applied < last && performance.now() - movedAt < 300) {
        await sleep(20);
        const now = await appliedEpoch(ack.client, ack.key);
        if (now !== applied) { applied = now; movedAt = performance.now(); }
      }
    }
  }
  while (performance.now() - started < limitS * 1000) {
    const sample = await scrape(url);
    if (sample && sample.rpo === 0 && sample.epochsBehind === 0 && sample.dirty === 0) return (performance.now() - started) / 1000;
    await sleep(200);
  }
  return Number.NaN;
}

/** Bytes Redis may hold for one pair: what may be in flight (the pair goes ahead beyond) plus one epoch being sealed. */
function inFlightBound(): number {
  const { maxInFlightBytes, epochMaxBytes } = defaultReplicationOptions;
  return maxInFlightBytes + epochMaxBytes;
}

interface PlacementFigures {
  off: number[]; on: number[]; drain: number[]; ratios: number[];
  cpuOff: { plain: number[]; initiator: number[] };
  cpuOn: { primary: number[]; peer: number[]; redis: number[]; initiator: number[] };
  samples: Sample[]; redisMax: number[]; left: number;
}

function emptyFigures(): PlacementFigures {
  return {
    off: [], on: [], drain: [], ratios: [],
    cpuOff: { plain: [], initiator: [] },
    cpuOn: { primary: [], peer: [], redis: [], initiator: [] },
    samples: [], redisMax: [], left: 0,
  };
}

async function main(): Promise<void> {
  if (placements.length === 0) { say(`PIN must be 0, 1 or both (got '${pinSetting}')`); process.exit(2); }
  if (sustainOf !== 'replicated' && sustainOf !== 'burst') { say(`SUSTAIN_OF must be replicated or burst (got '${sustainOf}')`); process.exit(2); }
  for (const tool of ['qemu-img', 'redis-server', '/usr/bin/time', ...(placements.includes('pinned') ? ['taskset'] : [])]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) { say(`${tool} missing`); process.exit(2); }
  }
  if (placements.includes('pinned') && os.availableParallelism() < 2) { say('PIN needs at least 2 CPUs'); process.exit(2); }
  const allCpus = `0-${os.availableParallelism() - 1}`;
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-bench-repl-'));
  const children: SystemChild[] = [];
  let redisStop: (() => Promise<void>) | undefined;
  try {
    const source = join(dir, 'random.img');
    const file = await open(source, 'w');
    for (let at = 0; at < sizeMiB * MiB; at += 4 * MiB) await file.write(randomBytes(4 * MiB), 0, 4 * MiB, at);
    await file.close();
    const lunSize = `${Math.max(512, sizeMiB * 2)}M`;
    const timeFile = join(dir, 'time.out');

    say('baseline: one serve process, replication off');
    const plainPort = await freeLoopbackPort();
    const plainMetricsPort = await freeLoopbackPort();
    const plainConfig = join(dir, 'plain.yaml');
    await writeFile(plainConfig, `name: plain\nstateDir: ${join(dir, 'plain')}\nportals: ['127.0.0.1:${plainPort}']\nmetrics: { address: 127.0.0.1, port: ${plainMetricsPort} }\ntargets:\n  - iqn: iqn.2026-11.org.iscsi-sim:bench-plain\n    luns: [{ lun: 0, file: disk0.img, size: ${lunSize} }]\n`);
    const plain = await startSystemChild('plain', plainConfig, dir);
    children.push(plain);
    const plainUrl = `iscsi://127.0.0.1:${plainPort}/iqn.2026-11.org.iscsi-sim:bench-plain/0`;

    say('replication on: private redis-server, primary + peer, async mirror through CIM');
    const ports = labPorts(await freeLoopbackPortRange(7));
    const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), port: ports.redis, appendOnly: true });
    redisStop = () => redis.stop();
    const files = await writeLabConfigs(join(dir, 'lab'), ports, redis.url, lunSize);
    for (const f of files) children.push(await startSystemChild(f.name, f.configPath, f.stateDir));
    const [primaryChild, peerChild] = children.slice(1);
    const [primary, peer] = [primaryChild.summary, peerChild.summary];
    const cim = new CimClient({ url: primary.cimUrl!, caFile: primary.cimCertificate, timeoutMs: 30_000 });
    const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    for (let i = 0; i < 100 && (await client.hlen(`iscsi-sim:volumes:${peer.name}`)) === 0; i++) await sleep(100);
    const job = await createMirror(cim, primary, peer, await ensureCollection(cim, primary, peer), 'async');
    if (job) await waitForJob(cim, job, 120_000);
    const metricsUrl = `http://127.0.0.1:${ports.primaryMetrics}/metrics`;
    if (Number.isNaN(await drainSeconds(metricsUrl, 120))) throw new Error('the mirror did not reach sync within 120 s');
    const scrapeBefore = cpuSeconds(primaryChild.process.pid);
    for (let i = 0; i < 40; i++) await scrape(metricsUrl);
    const scrapeCost = (cpuSeconds(primaryChild.process.pid) - scrapeBefore) / 40;
    const [pairId] = await client.smembers(ALL_PAIRS_KEY);
    const ack = { client, key: pairKeys(pairId).ack };
    const primaryUrl = `iscsi://127.0.0.1:${primary.portals[0].port}/${primary.targets[0].iqn}/0`;

    const pids = { plain: plain.process.pid, primary: primaryChild.process.pid, peer: peerChild.process.pid, redis: redis.pid };
    const place = (placement: Placement): { initiator: string | undefined } => {
      const local = placement === 'pinned' ? '0' : allCpus;
      const remote = placement === 'pinned' ? '1' : allCpus;
      pin(pids.plain, local);
      pin(pids.primary, local);
      pin(pids.peer, remote);
      pin(pids.redis, remote);
      return { initiator: placement === 'pinned' ? '0' : undefined };
    };
    const figures = new Map<Placement, PlacementFigures>(placements.map((p) => [p, emptyFigures()]));

    for (let round = 1; round <= rounds; round++) {
      // Placements alternate their order every round, like off/on within one.
      const order = round % 2 === 1 ? placements : [...placements].reverse();
      for (const placement of order) {
        const f = figures.get(placement)!;
        const { initiator } = place(placement);
        syncDisks();
        const plainBefore = cpuSeconds(pids.plain);
        let writingOff = true;
        const plainSampler = sampleMetrics(`http://127.0.0.1:${plainMetricsPort}/metrics`, [], () => !writingOff);
        const off = await qemuWrite(source, plainUrl, initiator, timeFile);
        writingOff = false;
        await plainSampler;
        f.off.push(off.seconds);
        f.cpuOff.plain.push(cpuSeconds(pids.plain) - plainBefore);
        f.cpuOff.initiator.push(off.cpu);

        syncDisks();
        const before = { primary: cpuSeconds(pids.primary), peer: cpuSeconds(pids.peer), redis: cpuSeconds(pids.redis) };
        let writing = true;
        let draining = true;
        const samples: Sample[] = [];
        const sampler = sampleMetrics(metricsUrl, samples, () => !writing);
        const memory = sampleRedisMemory(client, () => !draining);
        const on = await qemuWrite(source, primaryUrl, initiator, timeFile);
        writing = false;
        await sampler;
        const drain = await drainSeconds(metricsUrl, 300, ack);
        draining = false;
        f.redisMax.push(await memory);
        f.on.push(on.seconds);
        f.drain.push(drain);
        f.ratios.push(off.seconds / on.seconds);
        f.cpuOn.primary.push(cpuSeconds(pids.primary) - before.primary);
        f.cpuOn.peer.push(cpuSeconds(pids.peer) - before.peer);
        f.cpuOn.redis.push(cpuSeconds(pids.redis) - before.redis);
        f.cpuOn.initiator.push(on.cpu);
        f.samples.push(...samples);
        f.left += samples.filter((s) => s.copyState !== 4).length;
        say(`round ${round} ${placement}: off ${off.seconds.toFixed(2)} s, on ${on.seconds.toFixed(2)} s (ratio ${(off.seconds / on.seconds).toFixed(2)}), drain ${drain.toFixed(2)} s, `
          + `CPU off plain ${f.cpuOff.plain.at(-1)!.toFixed(2)} s, on primary ${f.cpuOn.primary.at(-1)!.toFixed(2)} peer ${f.cpuOn.peer.at(-1)!.toFixed(2)} redis ${f.cpuOn.redis.at(-1)!.toFixed(2)} s, load ${os.loadavg()[0].toFixed(1)}`);
      }
    }

    const lifetimePeak = await redisPeak(client);
    const mibps = (seconds: number) => (sizeMiB / seconds).toFixed(1);
    const s2 = (v: number) => v.toFixed(2);
    const range = (values: number[]) => `${s2(Math.min(...values))}–${s2(Math.max(...values))}`;
    for (const placement of placements) {
      const f = figures.get(placement)!;
      const where = placement === 'pinned' ? 'pinned: plain/primary + initiator on CPU 0, peer + redis on CPU 1' : `unpinned: every process on CPUs ${allCpus}`;
      const cpuOff = median(f.cpuOff.plain);
      const cpuOn = median(f.cpuOn.primary);
      const rows = [
        ['write, replication off (plain serve)', `${mibps(median(f.off))} MiB/s`, `${s2(median(f.off))} s for ${sizeMiB} MiB`],
        ['write, async replication on (primary)', `${mibps(median(f.on))} MiB/s`, `${s2(median(f.on))} s for ${sizeMiB} MiB`],
        ['throughput on/off', s2(median(f.ratios)), `median of per-round ratios (${range(f.ratios)})`],
        ['CPU-s per run, off', `plain ${s2(cpuOff)}, initiator ${s2(median(f.cpuOff.initiator))}`, 'write only'],
        ['CPU-s per run, on', `primary ${s2(cpuOn)}, peer ${s2(median(f.cpuOn.peer))}, redis ${s2(median(f.cpuOn.redis))}, initiator ${s2(median(f.cpuOn.initiator))}`, 'write + drain'],
        ['primary CPU on/off', s2(cpuOn / cpuOff), `CPU-s per GiB: off ${s2((cpuOff * 1024) / sizeMiB)}, on ${s2((cpuOn * 1024) / sizeMiB)}`],
        ['/metrics scrapes', `${(scrapeCost * 1000).toFixed(1)} ms CPU each`, `primary idle, 40 scrapes; ${(f.samples.length / rounds).toFixed(0)} per on run (the plain server as many per off run)`],
        ['drain after the write', `${s2(median(f.drain))} s`, 'until nothing in flight, open or dirty (ack key in Redis, then /metrics)'],
        ['replicated rate', `${mibps(median(f.on.map((on, i) => on + f.drain[i]!)))} MiB/s`, `${sizeMiB} MiB over write + drain: what the pipeline sustains (the burst fits in the in-flight buffer)`],
        ['RPO p50 / p99 / max during the write', `${s2(percentile(f.samples.map((s) => s.rpo), 50))} / ${s2(percentile(f.samples.map((s) => s.rpo), 99))} / ${s2(Math.max(0, ...f.samples.map((s) => s.rpo)))} s`, `${f.samples.length} samples every 250 ms; ${f.left} not Synchronized (went ahead)`],
        ['bytes behind p50 / p99', `${(percentile(f.samples.map((s) => s.behind), 50) / MiB).toFixed(1)} / ${(percentile(f.samples.map((s) => s.behind), 99) / MiB).toFixed(1)} MiB`, ''],
        ['Redis memory', `${(Math.max(...f.redisMax) / MiB).toFixed(1)} MiB max used_memory; ${(lifetimePeak / MiB).toFixed(1)} MiB used_memory_peak`, `sampled every 100 ms over the runs / since Redis started; goal ≤ in-flight bound ${(inFlightBound() / MiB).toFixed(0)} MiB + 64 MiB = ${(inFlightBound() / MiB + 64).toFixed(0)} MiB`],
      ];
      process.stdout.write(`\n| replication, ${where} (${sizeMiB} MiB × ${rounds}, qemu-img) | value | note |\n|---|---|---|\n`);
      for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
    }

    if (durationS > 0) {
      const placement: Placement = placements.includes('pinned') ? 'pinned' : 'unpinned';
      const f = figures.get(placement)!;
      // The burst rate is inflated by the in-flight buffer (a 256 MiB write fits in it); what the
      // pipeline sustains is the data over write + drain. SUSTAIN_OF=burst paces against the former.
      const replicatedRate = sizeMiB / median(f.on.map((on, i) => on + f.drain[i]!));
      const baseRate = sustainOf === 'burst' ? sizeMiB / median(f.on) : replicatedRate;
      const rate = baseRate * (sustainPct / 100);
      const { initiator } = place(placement);
      say(`sustained: ${rate.toFixed(1)} MiB/s (${sustainPct} % of the ${sustainOf === 'burst' ? 'burst' : 'replicated'} rate ${baseRate.toFixed(1)}) for ${durationS} s, ${placement}`);
      syncDisks();
      const before = { primary: cpuSeconds(pids.primary), peer: cpuSeconds(pids.peer), redis: cpuSeconds(pids.redis) };
      let writing = true;
      let draining = true;
      const samples: Sample[] = [];
      const sampler = sampleMetrics(metricsUrl, samples, () => !writing, 100);
      const memory = sampleRedisMemory(client, () => !draining);
      const command = placed(initiator, [process.execPath, ...process.execArgv, join(here, 'paced-writer.ts'),
        '127.0.0.1', String(primary.portals[0].port), primary.targets[0].iqn, rate.toFixed(3), String(durationS)]);
      const output = await new Promise<string>((resolve, reject) => {
        const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
        child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
        child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`paced writer failed (${code}): ${stderr}`))));
      });
      writing = false;
      await sampler;
      const writer = JSON.parse(output) as { mibps: number; late: number; failed: number; cpuSeconds: number; seconds: number };
      const drain = await drainSeconds(metricsUrl, 300, ack);
      draining = false;
      const redisMax = await memory;
      const cpu = { primary: cpuSeconds(pids.primary) - before.primary, peer: cpuSeconds(pids.peer) - before.peer, redis: cpuSeconds(pids.redis) - before.redis };
      const peak = await redisPeak(client);
      // Fed vs drained: the backlog in the last 10 s of the write against the first 10 s.
      const t0 = samples[0]?.at ?? 0;
      const t1 = samples.at(-1)?.at ?? 0;
      const first = median(samples.filter((s) => s.at - t0 < 10_000).map((s) => s.behind));
      const last = median(samples.filter((s) => t1 - s.at < 10_000).map((s) => s.behind));
      const keptUp = last <= first + defaultReplicationOptions.epochMaxBytes && drain < 2;
      const rpo = samples.map((s) => s.rpo);
      const rows = [
        ['paced write', `${writer.mibps.toFixed(1)} MiB/s for ${writer.seconds.toFixed(0)} s`, `asked ${rate.toFixed(1)} MiB/s (${sustainPct} % of the ${sustainOf === 'burst' ? 'burst write rate' : 'replicated rate, data over write + drain'} ${baseRate.toFixed(1)} MiB/s); ${writer.late} writes late > 100 ms, ${writer.failed} failed; 256 KiB writes, 8 sessions qd1`],
        ['RPO p50 / p99 / max', `${s2(percentile(rpo, 50))} / ${s2(percentile(rpo, 99))} / ${s2(Math.max(0, ...rpo))} s`, `${samples.length} samples every 100 ms; goal p99 < 1 s; ${samples.filter((s) => s.copyState !== 4).length} not Synchronized`],
        ['backlog first 10 s / last 10 s', `${(first / MiB).toFixed(1)} / ${(last / MiB).toFixed(1)} MiB`, `bytes behind, medians; drain after the writer stopped ${s2(drain)} s`],
        ['replica kept up', keptUp ? 'yes' : 'no', 'last-10-s backlog ≤ first-10-s + one epoch, and drained within 2 s'],
        ['CPU-s', `primary ${s2(cpu.primary)}, peer ${s2(cpu.peer)}, redis ${s2(cpu.redis)}, writer ${s2(writer.cpuSeconds)}`, 'write + drain'],
        ['Redis memory', `${(redisMax / MiB).toFixed(1)} MiB max used_memory; ${(peak / MiB).toFixed(1)} MiB used_memory_peak`, `sampled every 100 ms / since Redis started; goal ≤ ${(inFlightBound() / MiB + 64).toFixed(0)} MiB`],
      ];
      process.stdout.write(`\n| sustained, ${placement} (${durationS} s at ${sustainPct} %) | value | note |\n|---|---|---|\n`);
      for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
    }
    process.stdout.write(`\n${os.availableParallelism()} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end\n`);
    client.disconnect();
  } finally {
    for (const child of children.reverse()) await child.stop();
    await redisStop?.();
    if (process.env.KEEP_TMP) say(`kept ${dir}`); else await rm(dir, { recursive: true, force: true });
  }
}

await main();
