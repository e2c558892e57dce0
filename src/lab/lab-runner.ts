/**
 * `iscsi-sim lab`: an embedded Redis (or --redis), a primary and a peer system as separate processes,
 * the remote replication collection and the mirror created through CIM, the initial sync shown as a
 * progress bar, then connection hints, one `lab ready: {JSON}` line and a live status line until
 * Ctrl-C, which stops everything.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { CimClient } from '../cim/client/client.ts';
import { TARGET_NAMESPACE } from '../cim/types.ts';
import { readPairReports, type PairReport } from '../replication/status-reader.ts';
import { lockStateDir } from '../storage/file-lock.ts';
import type { SystemSummary } from '../system/system.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.ts';
import { createMirror, ensureCollection, waitForJob } from './lab-cim-setup.ts';
import { labPorts, writeLabConfigs } from './lab-config.ts';
import { progressBar, statusLine } from './status-format.ts';
import { startSystemChild, type SystemChild } from './system-child.ts';

export interface LabOptions {
  readonly stateDir: string;
  readonly basePort?: number;
  readonly redisUrl?: string;
  readonly lunSize?: string;
  readonly mode: 'async' | 'sync';
  /** Stop after printing the ready line (scripts, tests). */
  readonly exitWhenReady?: boolean;
  readonly print: (text: string) => void;
  /** Rewrites the current terminal line (progress, live status). */
  readonly rewrite: (text: string) => void;
  readonly syncTimeoutMs?: number;
}

export interface LabHandle {
  readonly ready: LabReady;
  /** Resolves when a system process died unexpectedly (with its name). */
  readonly failed: Promise<string>;
  stop(): Promise<void>;
}

export interface LabReady {
  readonly stateDir: string;
  readonly redisUrl: string;
  readonly systems: ReadonlyArray<{
    readonly name: string;
    readonly role: 'primary' | 'peer';
    readonly portals: SystemSummary['portals'];
    readonly targets: ReadonlyArray<{ readonly iqn: string; readonly luns: readonly number[] }>;
    readonly cimUrl: string | undefined;
    readonly namespace: string;
    readonly metricsUrl: string;
  }>;
  readonly pairs: ReadonlyArray<{ readonly pairId: string; readonly source: string; readonly target: string; readonly mode: string }>;
}

export async function startLab(options: LabOptions): Promise<LabHandle> {
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true });
  // Before anything touches the dir: a second lab on it must not start a second Redis on the same AOF.
  const stateLock = await lockStateDir(stateDir);
  const ports = labPorts(options.basePort);
  const children: SystemChild[] = [];
  let redis: EmbeddedRedis | undefined;
  let client: Redis | undefined;
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) await child.stop();
    client?.disconnect();
    await redis?.stop();
    await stateLock.release();
  };
  try {
    if (!options.redisUrl) {
      options.print(`starting redis-server on 127.0.0.1:${ports.redis} (AOF, data in ${join(stateDir, 'redis')})`);
      redis = await startEmbeddedRedis({ dir: join(stateDir, 'redis'), port: ports.redis, appendOnly: true });
    }
    const redisUrl = options.redisUrl ?? redis!.url;
    client = new Redis(redisUrl, { maxRetriesPerRequest: 2, retryStrategy: (times) => Math.min(times * 100, 1000) });
    client.on('error', () => undefined);
    const files = await writeLabConfigs(stateDir, ports, redisUrl, options.lunSize);
    for (const file of files) {
      options.print(`starting ${file.role} system "${file.name}" (log: ${join(file.stateDir, 'system.log')})`);
      children.push(await startSystemChild(file.name, file.configPath, file.stateDir));
    }
    const [primary, peer] = children.map((c) => c.summary);
    if (!primary.cimUrl) throw new Error('the primary system has no CIM endpoint');
    const cim = new CimClient({ url: primary.cimUrl, timeoutMs: 30_000 });
    const reportFor = async () => (await readPairReports(client!)).find((r) => r.entry.record.source.naa === primary.targets[0]?.luns[0]?.naa);
    if (!(await reportFor())) {
      options.print('creating the remote replication collection and the mirror through CIM (CreateRemoteReplicationCollection, CreateElementReplica)');
      const collection = await ensureCollection(cim, primary, peer);
      await waitForPeerVolume(client, peer.name, 30_000);
      const job = await createMirror(cim, primary, peer, collection, options.mode);
      if (job) await followSync(options, reportFor, () => waitForJob(cim, job, options.syncTimeoutMs ?? 24 * 3600_000));
    } else {
      options.print('mirror already exists (state dir reused): waiting for it to be in sync');
      await followSync(options, reportFor, async () => {
        const deadline = Date.now() + (options.syncTimeoutMs ?? 24 * 3600_000);
        while (Date.now() < deadline && (await reportFor())?.status?.phase !== 'streaming') await sleep(250);
      });
    }
    const pairs = (await readPairReports(client)).map((r) => ({
      pairId: r.entry.record.pairId,
      source: `${r.entry.record.source.system}:${r.entry.record.source.targetIqn}/${r.entry.record.source.lun}`,
      target: `${r.entry.record.target.system}:${r.entry.record.target.targetIqn}/${r.entry.record.target.lun}`,
      mode: r.entry.record.mode,
    }));
    const ready: LabReady = {
      stateDir,
      redisUrl,
      systems: children.map((child, index) => ({
        name: child.summary.name,
        role: index === 0 ? 'primary' : 'peer',
        portals: child.summary.portals,
        targets: child.summary.targets.map((t) => ({ iqn: t.iqn, luns: t.luns.map((l) => l.lun) })),
        cimUrl: child.summary.cimUrl,
        namespace: TARGET_NAMESPACE,
        metricsUrl: `http://127.0.0.1:${index === 0 ? ports.primaryMetrics : ports.peerMetrics}/metrics`,
      })),
      pairs,
    };
    await writeFile(join(stateDir, 'lab.json'), JSON.stringify(ready, null, 2));
    const failed = Promise.race(children.map((child) => new Promise<string>((done) => child.process.once('exit', () => done(child.name)))));
    return { ready, failed, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Shows the initial sync as a progress bar while `work` runs. */
async function followSync(options: LabOptions, report: () => Promise<PairReport | undefined>, work: () => Promise<void>): Promise<void> {
  let done = false;
  const painter = (async () => {
    while (!done) {
      const current = await report().catch(() => undefined);
      const status = current?.status;
      if (status) options.rewrite(`initial sync ${progressBar(status.percentSynced)}  ${status.phase}`);
      await sleep(200);
    }
  })();
  try {
    await work();
  } finally {
    done = true;
    await painter;
  }
  options.rewrite(`initial sync ${progressBar(100)}  done`);
  options.print('');
}

async function waitForPeerVolume(redis: Redis, peer: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await redis.hlen(`iscsi-sim:volumes:${peer}`).catch(() => 0)) > 0) return;
    await sleep(100);
  }
  throw new Error(`peer ${peer} did not register its volumes in Redis`);
}

/** Connection hints for people. */
export function connectHints(ready: LabReady): string {
  const lines: string[] = [];
  for (const system of ready.systems) {
    const portal = system.portals[0];
    const target = system.targets[0];
    if (!portal || !target) continue;
    const hostPort = portal.address.includes(':') ? `[${portal.address}]:${portal.port}` : `${portal.address}:${portal.port}`;
    lines.push(`${system.role} "${system.name}"${system.role === 'peer' ? ' (mirror target: read-only while mirrored)' : ''}:`);
    lines.push(`  iscsi-ls -s iscsi://${hostPort}`);
    lines.push(`  iscsiadm -m discovery -t sendtargets -p ${hostPort} && iscsiadm -m node -T ${target.iqn} -p ${hostPort} --login`);
    lines.push(`  qemu-img info iscsi://${hostPort}/${target.iqn}/${target.luns[0] ?? 0}`);
    if (system.cimUrl) lines.push(`  wbemcli ein '${system.cimUrl}/${system.namespace}:CIM_StorageSynchronized'`);
    lines.push(`  metrics: ${system.metricsUrl}`);
  }
  lines.push(`status: iscsi-sim status --state-dir ${ready.stateDir}   (or --redis ${ready.redisUrl})`);
  return lines.join('\n');
}

export async function liveStatus(redisUrl: string, rewrite: (text: string) => void, stopped: () => boolean): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 500 });
  redis.on('error', () => undefined);
  try {
    while (!stopped()) {
      const reports = await readPairReports(redis).catch(() => []);
      rewrite(reports.map(statusLine).join(' | ') || 'no mirror pairs');
      await sleep(1000);
    }
  } finally {
    redis.disconnect();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
