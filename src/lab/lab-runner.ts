/**
 * `iscsi-sim lab`: an embedded Redis (or --redis), a primary and a peer system as separate processes,
 * the remote replication collection and the mirror created through CIM, the initial sync shown as a
 * progress bar, then connection hints, one `lab ready: {JSON}` line and a live status line until
 * Ctrl-C, which stops everything.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { CimClient } from '../cim/client/client.ts';
import { TARGET_NAMESPACE } from '../cim/types.ts';
import type { AdminState } from '../replication/mirror/admin-transitions.ts';
import { readPairReports, type PairReport } from '../replication/status-reader.ts';
import { lockStateDir } from '../storage/file-lock.ts';
import type { SystemSummary } from '../system/system.ts';
import { ensureFolder } from '../util/directories.ts';
import { assertRedisReachable } from '../util/redis-reachable.ts';
import { launchRedisServer } from './embedded-redis.ts';
import { createMirror, ensureCollection, setMirrorMode, waitForJob } from './lab-cim-setup.ts';
import { labPorts, writeLabConfigs } from './lab-config.ts';
import { serveLabControl } from './lab-control.ts';
import { localStatusLines, readLocalStatus, type LocalSystem } from './local-status.ts';
import { progressBar, statusLine } from './status-format.ts';
import { Supervisor, type PartStatus, type SupervisorEvent } from './supervisor.ts';
import { startSystemChild, type SystemChild } from './system-child.ts';
import { tiedToParent } from './tied-spawn.ts';

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
  /** A part died, was restarted, or is left down (supervisor.ts). */
  readonly onPartEvent?: (event: SupervisorEvent) => void;
}

export interface LabHandle {
  readonly ready: LabReady;
  /** Redis (when embedded) and both systems, with their supervision state. */
  parts(): PartStatus[];
  stop(): Promise<void>;
}

export interface LabReady {
  readonly stateDir: string;
  readonly redisUrl: string;
  readonly systems: ReadonlyArray<{
    readonly name: string;
    readonly role: 'primary' | 'peer';
    readonly stateDir: string;
    readonly portals: SystemSummary['portals'];
    readonly targets: ReadonlyArray<{ readonly iqn: string; readonly luns: readonly number[] }>;
    readonly cimUrl: string | undefined;
    /** The CIM server's certificate (PEM): what a client trusts for the https cimUrl. */
    readonly cimCertificate: string | undefined;
    readonly namespace: string;
    readonly metricsUrl: string;
  }>;
  readonly pairs: ReadonlyArray<{ readonly pairId: string; readonly source: string; readonly target: string; readonly mode: string }>;
}

/** Pair states an operator chose (or a split brain): a restarted lab keeps them and does not wait for a sync. */
const HELD_ADMIN: ReadonlySet<AdminState> = new Set<AdminState>(['fractured', 'suspended', 'failed-over', 'split-brain']);

/** A system that has not stopped this long after SIGTERM gets SIGKILL (it survives that by design). */
const SYSTEM_STOP_GRACE_MS = 8000;

export async function startLab(options: LabOptions): Promise<LabHandle> {
  const stateDir = resolve(options.stateDir);
  await ensureFolder(stateDir);
  // Before anything touches the dir: a second lab on it must not start a second Redis on the same AOF.
  const stateLock = await lockStateDir(stateDir);
  const ports = labPorts(options.basePort);
  if (!tiedToParent()) options.print('note: setpriv (util-linux) not found: if the lab is killed with SIGKILL, its redis-server and systems keep running');
  const supervisor = new Supervisor(options.onPartEvent ?? (() => undefined));
  let client: Redis | undefined;
  let control: { close(): Promise<void> } | undefined;
  const stop = async (): Promise<void> => {
    await control?.close();
    client?.disconnect();
    await supervisor.stop();
    await stateLock.release();
  };
  try {
    let redisUrl = options.redisUrl;
    if (redisUrl) await assertRedisReachable(redisUrl);
    if (!redisUrl) {
      const dir = join(stateDir, 'redis');
      options.print(`starting redis-server on 127.0.0.1:${ports.redis} (AOF, data in ${dir})`);
      await supervisor.add({
        name: 'redis',
        stopLast: true,
        launch: async () => {
          const redis = await launchRedisServer({ dir, port: ports.redis, appendOnly: true });
          return { pid: redis.pid, exited: redis.exited, stop: () => redis.stop(), kill: () => redis.stop('SIGKILL') };
        },
      });
      redisUrl = `redis://127.0.0.1:${ports.redis}`;
    }
    client = new Redis(redisUrl, { maxRetriesPerRequest: 2, retryStrategy: (times) => Math.min(times * 100, 1000) });
    client.on('error', () => undefined);
    const files = await writeLabConfigs(stateDir, ports, redisUrl, options.lunSize);
    const summaries: SystemSummary[] = [];
    for (const file of files) {
      options.print(`starting ${file.role} system "${file.name}" (log: ${join(file.stateDir, 'system.log')})`);
      const first = await startSystemChild(file.name, file.configPath, file.stateDir);
      summaries.push(first.summary);
      let launched: SystemChild | undefined = first;
      await supervisor.add({
        name: file.name,
        launch: async (signal) => {
          const child = launched ?? await startSystemChild(file.name, file.configPath, file.stateDir, 60_000, signal);
          launched = undefined;
          // Bounded so that the systems (in parallel) and then Redis (5 s) stop within the CLI's 15 s.
          const stop = async () => {
            if (await child.stop(SYSTEM_STOP_GRACE_MS)) options.print(`lab: ${file.name} did not stop within ${SYSTEM_STOP_GRACE_MS / 1000} s of SIGTERM; killed it (see ${child.logPath})`);
          };
          return { pid: child.process.pid, exited: child.exited, stop, kill: () => child.kill() };
        },
      });
    }
    const [primary, peer] = summaries as [SystemSummary, SystemSummary];
    if (!primary.cimUrl) throw new Error('the primary system has no CIM endpoint');
    const cim = new CimClient({ url: primary.cimUrl, caFile: primary.cimCertificate, timeoutMs: 30_000 });
    // The lab's mirror in either orientation (after a failover or reverse the peer is its source).
    const labNaa = primary.targets[0]?.luns[0]?.naa;
    const reportFor = async () => (await readPairReports(client!)).find((r) => r.entry.record.source.naa === labNaa || r.entry.record.target.naa === labNaa);
    if (!(await reportFor())) {
      options.print('creating the remote replication collection and the mirror through CIM (CreateRemoteReplicationCollection, CreateElementReplica)');
      const collection = await ensureCollection(cim, primary, peer);
      await waitForPeerVolume(client, peer.name, 30_000);
      const job = await createMirror(cim, primary, peer, collection, options.mode);
      if (job) await followSync(options, reportFor, () => waitForJob(cim, job, options.syncTimeoutMs ?? 24 * 3600_000));
    } else {
      const { record } = (await reportFor())!.entry;
      if (record.mode !== options.mode) {
        // The flags win over the reused state dir, through the same CIM method an SMI-S client uses.
        options.print(`mirror mode ${record.mode} → ${options.mode} (${options.mode === 'sync' ? '--sync given' : 'no --sync'}): ModifyReplicaSynchronization Reset To ${options.mode === 'sync' ? 'Sync' : 'Async'}`);
        await setMirrorMode(cim, primary.name, record, options.mode);
      }
      const found = await reportFor();
      if (found && HELD_ADMIN.has(found.entry.admin)) {
        // The operator's state survives the restart; waiting for a sync that is not coming would hang.
        options.print(`mirror already exists (state dir reused) and is ${found.entry.admin}: kept as it is (iscsi-sim pair … changes it)`);
      } else {
        options.print('mirror already exists (state dir reused): waiting for it to be in sync');
        await followSync(options, reportFor, async () => {
          const deadline = Date.now() + (options.syncTimeoutMs ?? 24 * 3600_000);
          while (Date.now() < deadline) {
            const current = await reportFor();
            if (current?.status?.phase === 'streaming' || (current && HELD_ADMIN.has(current.entry.admin))) return;
            await sleep(250);
          }
        });
      }
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
      systems: summaries.map((summary, index) => ({
        name: summary.name,
        role: index === 0 ? 'primary' : 'peer',
        stateDir: summary.stateDir,
        portals: summary.portals,
        targets: summary.targets.map((t) => ({ iqn: t.iqn, luns: t.luns.map((l) => l.lun) })),
        cimUrl: summary.cimUrl,
        cimCertificate: summary.cimCertificate,
        namespace: TARGET_NAMESPACE,
        metricsUrl: `http://127.0.0.1:${index === 0 ? ports.primaryMetrics : ports.peerMetrics}/metrics`,
      })),
      pairs,
    };
    await writeFile(join(stateDir, 'lab.json'), JSON.stringify(ready, null, 2));
    control = await serveLabControl(stateDir, {
      down: (part, kill) => supervisor.takeDown(part, kill),
      up: (part) => supervisor.bringUp(part),
      parts: () => supervisor.status(),
    }).catch((error: unknown) => {
      options.print(`note: no control socket (${(error as Error).message}): \`iscsi-sim site\` cannot reach this lab`);
      return undefined;
    });
    return { ready, parts: () => supervisor.status(), stop };
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

/** The lab's systems as local-status.ts reads them (lab.json from before `stateDir` was written in: derived). */
export function labSystems(ready: LabReady): LocalSystem[] {
  return ready.systems.map((system) => ({ name: system.name, stateDir: system.stateDir ?? join(ready.stateDir, system.name), metricsUrl: system.metricsUrl }));
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
    if (system.cimUrl) {
      const trust = system.cimCertificate ? `-cacert ${system.cimCertificate} ` : '';
      lines.push(`  wbemcli ${trust}ein '${system.cimUrl}/${system.namespace}:CIM_StorageSynchronized'`);
    }
    lines.push(`  metrics: ${system.metricsUrl}`);
  }
  lines.push(`status: npx iscsi-sim status --state-dir ${ready.stateDir}   (or --redis ${ready.redisUrl})`);
  return lines.join('\n');
}

/**
 * The live line: parts that are not up, then the pairs from Redis — or, when Redis cannot be read,
 * `Redis unreachable (URL)` and what each system knows locally (local-status.ts).
 */
export async function liveStatus(ready: LabReady, parts: () => PartStatus[], rewrite: (text: string) => void, stopped: () => boolean): Promise<void> {
  // Commands fail fast while disconnected and time out on a Redis that accepts but never answers.
  const redis = new Redis(ready.redisUrl, { connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 500 });
  redis.on('error', () => undefined);
  try {
    while (!stopped()) {
      let pairs: string;
      try {
        pairs = (await readPairReports(redis)).map(statusLine).join(' | ') || 'no mirror pairs';
      } catch {
        pairs = [`Redis unreachable (${ready.redisUrl})`, ...localStatusLines(await readLocalStatus(labSystems(ready)))].join(' | ');
      }
      const down = parts().filter((p) => p.state !== 'up').map(partLine);
      if (!stopped()) rewrite([...down, pairs].join(' | '));
      await sleep(1000);
    }
  } finally {
    redis.disconnect();
  }
}

function partLine(part: PartStatus): string {
  const what = part.state === 'given-up' ? `DOWN (keeps dying; not restarted: iscsi-sim site up ${part.name})`
    : part.state === 'down' ? `DOWN (on purpose: iscsi-sim site up ${part.name})`
      : part.state === 'restarting' ? 'DOWN (restarting)' : part.state;
  return `${part.name} ${what}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
