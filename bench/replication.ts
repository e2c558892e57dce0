/**
 * Replication benchmark (`npx tsx bench/replication.ts`): the lab's processes (private redis-server,
 * primary and peer `serve` processes, async mirror made through CIM) driven by qemu-img through the
 * primary's portal. Prints a Markdown table: primary write throughput with replication off vs on
 * (ratio), drain rate after the write, lag and RPO percentiles sampled from the primary's /metrics
 * during the write, Redis peak memory.
 *
 * Off and on alternate (ROUNDS times, medians reported) and the page cache is written back (`sync`)
 * before every timed write, so one run's writeback does not slow the next.
 *
 *   env: SIZE_MIB=256   data written per run
 *        ROUNDS=3       off/on pairs
 *        KEEP_TMP=1     keep the temp dir (logs, LUN files)
 * Needs qemu-utils + qemu-block-extra and redis-server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CimClient } from '../src/cim/client/client.ts';
import { freeLoopbackPort, freeLoopbackPortRange, startEmbeddedRedis } from '../src/lab/embedded-redis.ts';
import { createMirror, ensureCollection, waitForJob } from '../src/lab/lab-cim-setup.ts';
import { labPorts, writeLabConfigs } from '../src/lab/lab-config.ts';
import { startSystemChild, type SystemChild } from '../src/lab/system-child.ts';
import { readPairReports } from '../src/replication/status-reader.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.SIZE_MIB ?? 256);
const rounds = Math.max(1, Math.min(10, Number(process.env.ROUNDS ?? 3)));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** User + system CPU seconds a process used so far (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ ticks
  } catch {
    return 0;
  }
}

/** Page-cache writeback of earlier runs must not be charged to the next one. */
function syncDisks(): void {
  spawnSync('sync', [], { timeout: 120_000 });
}

function say(text: string): void { process.stderr.write(`bench: ${text}\n`); }

function qemuWrite(source: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`qemu-img failed: ${stderr}`))));
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function sampleMetrics(url: string, into: { rpo: number[]; behind: number[] }, stop: () => boolean): Promise<void> {
  while (!stop()) {
    try {
      const text = await (await fetch(url, { signal: AbortSignal.timeout(1000) })).text();
      const rpo = /^iscsi_sim_replication_rpo_seconds\{[^}]*\} (\S+)$/m.exec(text);
      const behind = /^iscsi_sim_replication_bytes_behind\{[^}]*\} (\S+)$/m.exec(text);
      if (rpo) into.rpo.push(Number(rpo[1]));
      if (behind) into.behind.push(Number(behind[1]));
    } catch {
      // a missed sample is fine
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  for (const tool of ['qemu-img', 'redis-server']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) { say(`${tool} missing`); process.exit(2); }
  }
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-bench-repl-'));
  const children: SystemChild[] = [];
  let redisStop: (() => Promise<void>) | undefined;
  try {
    const source = join(dir, 'random.img');
    const file = await open(source, 'w');
    for (let at = 0; at < sizeMiB * MiB; at += 4 * MiB) await file.write(randomBytes(4 * MiB), 0, 4 * MiB, at);
    await file.close();
    const lunSize = `${Math.max(512, sizeMiB * 2)}M`;

    say('baseline: one serve process, replication off');
    const plainPort = await freeLoopbackPort();
    const plainConfig = join(dir, 'plain.yaml');
    await writeFile(plainConfig, `name: plain\nstateDir: ${join(dir, 'plain')}\nportals: ['127.0.0.1:${plainPort}']\ntargets:\n  - iqn: iqn.2026-11.org.iscsi-sim:bench-plain\n    luns: [{ lun: 0, file: disk0.img, size: ${lunSize} }]\n`);
    const plain = await startSystemChild('plain', plainConfig, dir);
    children.push(plain);
    const plainUrl = `iscsi://127.0.0.1:${plainPort}/iqn.2026-11.org.iscsi-sim:bench-plain/0`;

    say('replication on: private redis-server, primary + peer, async mirror through CIM');
    const ports = labPorts(await freeLoopbackPortRange(7));
    const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), port: ports.redis, appendOnly: true });
    redisStop = () => redis.stop();
    const files = await writeLabConfigs(join(dir, 'lab'), ports, redis.url, lunSize);
    for (const f of files) children.push(await startSystemChild(f.name, f.configPath, f.stateDir));
    const [primary, peer] = children.slice(1).map((c) => c.summary);
    const cim = new CimClient({ url: primary.cimUrl!, caFile: primary.cimCertificate, timeoutMs: 30_000 });
    const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    for (let i = 0; i < 100 && (await client.hlen(`iscsi-sim:volumes:${peer.name}`)) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const job = await createMirror(cim, primary, peer, await ensureCollection(cim, primary, peer), 'async');
    if (job) await waitForJob(cim, job, 120_000);
    await client.config('RESETSTAT');

    const samples = { rpo: [] as number[], behind: [] as number[] };
    const offRuns: number[] = [];
    const onRuns: number[] = [];
    const drainRuns: number[] = [];
    const cpu = { plain: 0, primary: 0, peer: 0, redis: 0 };
    const pids = { plain: plain.process.pid, primary: children[1].process.pid, peer: children[2].process.pid, redis: redis.pid };
    const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)])) as typeof cpu;
    for (let round = 1; round <= rounds; round++) {
      syncDisks();
      const beforeOff = cpuNow();
      offRuns.push(await qemuWrite(source, plainUrl));
      cpu.plain += cpuNow().plain - beforeOff.plain;
      syncDisks();
      const beforeOn = cpuNow();
      let writing = true;
      const sampler = sampleMetrics(`http://127.0.0.1:${ports.primaryMetrics}/metrics`, samples, () => !writing);
      onRuns.push(await qemuWrite(source, `iscsi://127.0.0.1:${primary.portals[0].port}/${primary.targets[0].iqn}/0`));
      const writeEnd = Date.now();
      const drainStart = performance.now();
      let drainSeconds = Number.NaN;
      for (let i = 0; i < 3000; i++) {
        const [report] = await readPairReports(client);
        const status = report?.status;
        if (status && Date.parse(status.updatedAt) > writeEnd && status.epochsBehind === 0 && status.dirtyGrains === 0) {
          drainSeconds = (performance.now() - drainStart) / 1000;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      writing = false;
      await sampler;
      drainRuns.push(drainSeconds);
      const afterOn = cpuNow();
      for (const k of ['primary', 'peer', 'redis'] as const) cpu[k] += afterOn[k] - beforeOn[k];
      say(`round ${round}: off ${offRuns[round - 1].toFixed(2)} s, on ${onRuns[round - 1].toFixed(2)} s, drain ${drainSeconds.toFixed(2)} s`);
    }
    const offSeconds = median(offRuns);
    const onSeconds = median(onRuns);
    const drainSeconds = median(drainRuns);
    const info = await client.info('memory');
    const peak = Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? 0);
    client.disconnect();

    const mbps = (seconds: number) => (sizeMiB / seconds).toFixed(1);
    const rows = [
      ['primary write, replication off', `${mbps(offSeconds)} MiB/s`, `${offSeconds.toFixed(2)} s for ${sizeMiB} MiB`],
      ['primary write, async replication on', `${mbps(onSeconds)} MiB/s`, `${onSeconds.toFixed(2)} s for ${sizeMiB} MiB`],
      ['ratio on/off', `${(offSeconds / onSeconds).toFixed(2)}`, `throughput with / without (medians of ${rounds} alternating rounds)`],
      ['drain after the write', `${drainSeconds.toFixed(2)} s`, 'until 0 epochs behind, 0 dirty grains (status every 2 s)'],
      ['RPO p50 / p95 / max', `${percentile(samples.rpo, 50).toFixed(2)} / ${percentile(samples.rpo, 95).toFixed(2)} / ${Math.max(0, ...samples.rpo).toFixed(2)} s`, `${samples.rpo.length} samples of /metrics`],
      ['bytes behind p50 / p95', `${(percentile(samples.behind, 50) / MiB).toFixed(1)} / ${(percentile(samples.behind, 95) / MiB).toFixed(1)} MiB`, ''],
      ['CPU per run (write + drain)', `off: ${(cpu.plain / rounds).toFixed(2)} s; on: primary ${(cpu.primary / rounds).toFixed(2)} s, peer ${(cpu.peer / rounds).toFixed(2)} s, redis ${(cpu.redis / rounds).toFixed(2)} s`, `${os.availableParallelism()} CPUs, load ${os.loadavg()[0].toFixed(1)} at the end`],
      ['Redis used_memory_peak', `${(peak / MiB).toFixed(1)} MiB`, 'payload keys deleted after apply'],
    ];
    process.stdout.write(`| replication (${sizeMiB} MiB × ${rounds}, qemu-img, loopback) | value | note |\n|---|---|---|\n`);
    for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await redisStop?.();
    if (process.env.KEEP_TMP) say(`kept ${dir}`); else await rm(dir, { recursive: true, force: true });
  }
}

await main();
