/**
 * `iscsi-sim lab`: an embedded Redis (or an embedded Redis Cluster, or --redis), a primary and a peer
 * system as separate processes, the remote replication collection and the mirrors (one per LUN) created
 * through CIM, the initial sync shown as a progress bar, then connection hints, one `lab ready: {JSON}`
 * line and a live status line until Ctrl-C, which stops everything.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CimClient } from '../cim/client/client.ts';
import { TARGET_NAMESPACE, type ObjectPath } from '../cim/types.ts';
import type { AdminState } from '../replication/mirror/admin-transitions.ts';
import { volumesKey } from '../replication/mirror/pair-registry.ts';
import { readPairReports, type PairReport } from '../replication/status-reader.ts';
import { StoreConnection } from '../replication/transport/store-connection.ts';
import type { KeyValueStore } from '../replication/transport/transport.ts';
import { lockStateDir } from '../storage/file-lock.ts';
import type { SystemSummary } from '../system/system.ts';
import { ensureFolder } from '../util/directories.ts';
import { assertRedisReachable } from '../util/redis-reachable.ts';
import { clusterNodes, clusterUrlOf, formCluster, launchClusterNode } from './embedded-cluster.ts';
import { launchRedisServer } from './embedded-redis.ts';
import { createMirror, ensureCollection, setMirrorMode, waitForJob } from './lab-cim-setup.ts';
import { startLabDashboard, type LabDashboard } from './lab-dashboard.ts';
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
  /** Start an embedded Redis Cluster instead of one redis-server. */
  readonly redisCluster?: { readonly masters: number; readonly replicasPerMaster: number; readonly nodeTimeoutMs?: number };
  readonly lunSize?: string;
  /** LUNs per system, one mirror each. @defaultValue 1 */
  readonly luns?: number;
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
    /** The system's own dashboard page. */
    readonly dashboardUrl: string;
  }>;
  /** The lab's dashboard: both systems, their pair, plots and events on one page. */
  readonly dashboardUrl: string;
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
  let client: StoreConnection | undefined;
  let control: { close(): Promise<void> } | undefined;
  let dashboard: LabDashboard | undefined;
  const stop = async (): Promise<void> => {
    await control?.close();
    await dashboard?.close();
    client?.close();
    try {
      await supervisor.stop();
    } finally {
      await stateLock.release();
    }
  };
  try {
    let redisUrl = options.redisUrl;
    if (redisUrl) await assertRedisReachable(redisUrl);
    if (!redisUrl && options.redisCluster) {
      const layout = { ...options.redisCluster, basePort: ports.redisCluster, dir: join(stateDir, 'redis-cluster') };
      const nodes = clusterNodes(layout);
      options.print(`starting a Redis Cluster: ${layout.masters} masters, ${layout.replicasPerMaster} replica(s) each, on 127.0.0.1:${nodes[0]!.port}..${nodes.at(-1)!.port} (AOF, data in ${layout.dir})`);
      await Promise.all(nodes.map((node) => supervisor.add({
        name: node.name,
        stopLast: true,
        launch: async () => {
          const redis = await launchClusterNode(node, layout);
          return { pid: redis.pid, exited: redis.exited, stop: () => redis.stop(), kill: () => redis.stop('SIGKILL') };
        },
      })));
      const formed = await formCluster(nodes, layout);
      options.print(formed === 'created' ? 'Redis Cluster created (redis-cli --cluster create)' : 'Redis Cluster found in the state dir: rejoined');
      redisUrl = clusterUrlOf(nodes);
    }
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
    client = new StoreConnection(redisUrl, { retries: 2, reconnectMs: (times) => Math.min(times * 100, 1000), queueWhileConnecting: true });
    const files = await writeLabConfigs(stateDir, ports, redisUrl, options.lunSize, options.luns ?? 1);
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
            // A system that could not flush its LUNs on the way down exits non-zero: say so, never a quiet stop.
            const how = await child.exited;
            if (how !== 'code 0' && how !== 'signal SIGKILL') throw new Error(`${file.name} stopped with errors (${how}; see ${child.logPath})`);
          };
          return { pid: child.process.pid, exited: child.exited, stop, kill: () => child.kill() };
        },
      });
    }
    const [primary, peer] = summaries as [SystemSummary, SystemSummary];
    const httpUrls = summaries.map((summary, index) => summary.httpUrl ?? `http://127.0.0.1:${index === 0 ? ports.primaryMetrics : ports.peerMetrics}`);
    // Up before the mirror is made, so the initial sync can be watched on it.
    dashboard = await startLabDashboard({
      address: '127.0.0.1', port: ports.dashboard,
      systems: summaries.map((summary, index) => ({ name: summary.name, role: index === 0 ? 'primary' : 'peer', httpUrl: httpUrls[index]! })),
    });
    options.print(`lab dashboard: ${dashboard.url}/dashboard/`);
    if (!primary.cimUrl) throw new Error('the primary system has no CIM endpoint');
    const cim = new CimClient({ url: primary.cimUrl, caFile: primary.cimCertificate, timeoutMs: 30_000 });
    // The lab's mirrors, one per LUN, in either orientation (after a failover or reverse the peer is the source).
    const labNaas = (primary.targets[0]?.luns ?? []).map((l) => l.naa);
    const mine = (report: PairReport, naa: string) => report.entry.record.source.naa === naa || report.entry.record.target.naa === naa;
    const labReports = async () => {
      const all = await readPairReports(client!.store);
      return labNaas.flatMap((naa) => all.find((r) => mine(r, naa)) ?? []);
    };
    const existing = await labReports();
    const missing = labNaas.flatMap((naa, index) => (existing.some((r) => mine(r, naa)) ? [] : [index]));
    for (const { entry: { record } } of existing) {
      if (record.mode === options.mode) continue;
      // The flags win over the reused state dir, through the same CIM method an SMI-S client uses.
      options.print(`mirror mode ${record.mode} → ${options.mode} (${options.mode === 'sync' ? '--sync given' : 'no --sync'}): ModifyReplicaSynchronization Reset To ${options.mode === 'sync' ? 'Sync' : 'Async'} (${record.pairId})`);
      await setMirrorMode(cim, primary.name, record, options.mode);
    }
    for (const report of existing.filter((r) => HELD_ADMIN.has(r.entry.admin))) {
      // The operator's state survives the restart; waiting for a sync that is not coming would hang.
      options.print(`mirror ${report.entry.record.pairId} already exists (state dir reused) and is ${report.entry.admin}: kept as it is (iscsi-sim pair … changes it)`);
    }
    if (existing.length > 0) options.print(`${existing.length} mirror(s) already exist (state dir reused): waiting for them to be in sync`);
    const jobs: ObjectPath[] = [];
    if (missing.length > 0) {
      const what = missing.length === 1 ? 'the mirror' : `${missing.length} mirrors`;
      options.print(`creating the remote replication collection and ${what} through CIM (CreateRemoteReplicationCollection, CreateElementReplica)`);
      const collection = await ensureCollection(cim, primary, peer);
      await waitForPeerVolume(client.store, peer.name, 30_000);
      const started = Date.now();
      for (const index of missing) {
        const job = await createMirror(cim, primary, peer, collection, options.mode, index);
        if (job) jobs.push(job);
      }
      if (missing.length > 1) options.print(`${missing.length} mirrors created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    const syncTimeoutMs = options.syncTimeoutMs ?? 24 * 3600_000;
    await followSync(options, labReports, labNaas.length, async () => {
      await Promise.all(jobs.map((job) => waitForJob(cim, job, syncTimeoutMs)));
      const deadline = Date.now() + syncTimeoutMs;
      while (Date.now() < deadline) {
        const reports = await labReports();
        const settled = (r: PairReport) => r.status?.phase === 'streaming' || HELD_ADMIN.has(r.entry.admin);
        if (reports.length === labNaas.length && reports.every(settled)) return;
        await sleep(250);
      }
      throw new Error(`the mirrors were not in sync within ${syncTimeoutMs / 1000} s`);
    });
    const pairs = (await readPairReports(client.store)).map((r) => ({
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
        metricsUrl: `${httpUrls[index]!}/metrics`,
        dashboardUrl: `${httpUrls[index]!}/dashboard/`,
      })),
      pairs,
      dashboardUrl: `${dashboard.url}/dashboard/`,
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

/** Shows the initial sync of the lab's mirrors as one progress bar while `work` runs. */
async function followSync(options: LabOptions, reports: () => Promise<PairReport[]>, expected: number, work: () => Promise<void>): Promise<void> {
  let done = false;
  const painter = (async () => {
    while (!done) {
      const statuses = (await reports().catch(() => [])).flatMap((r) => r.status ?? []);
      if (statuses.length > 0) {
        const percent = statuses.reduce((sum, s) => sum + s.percentSynced, 0) / expected;
        const phase = expected === 1 ? statuses[0]!.phase : `${statuses.filter((s) => s.phase === 'streaming').length}/${expected} streaming`;
        options.rewrite(`initial sync ${progressBar(percent)}  ${phase}`);
      }
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

async function waitForPeerVolume(store: KeyValueStore, peer: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (Object.keys(await store.hgetall(volumesKey(peer)).catch(() => ({}))).length > 0) return;
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
    if (system.dashboardUrl) lines.push(`  dashboard: ${system.dashboardUrl}`);
  }
  if (ready.dashboardUrl) lines.push(`lab dashboard (both systems): ${ready.dashboardUrl}`);
  lines.push(`status: npx iscsi-sim status --state-dir ${ready.stateDir}   (or --redis ${ready.redisUrl})`);
  return lines.join('\n');
}

/**
 * The live line: parts that are not up, then the pairs from Redis — or, when Redis cannot be read,
 * `Redis unreachable (URL)` and what each system knows locally (local-status.ts).
 */
export async function liveStatus(ready: LabReady, parts: () => PartStatus[], rewrite: (text: string) => void, stopped: () => boolean): Promise<void> {
  // Commands fail fast while disconnected and time out on a Redis that accepts but never answers.
  const redis = new StoreConnection(ready.redisUrl, { deadlineMs: 2000, reconnectMs: () => 500 });
  try {
    while (!stopped()) {
      let pairs: string;
      try {
        pairs = (await readPairReports(redis.store)).map(statusLine).join(' | ') || 'no mirror pairs';
      } catch {
        pairs = [`Redis unreachable (${ready.redisUrl})`, ...localStatusLines(await readLocalStatus(labSystems(ready)))].join(' | ');
      }
      const down = parts().filter((p) => p.state !== 'up').map(partLine);
      if (!stopped()) rewrite([...down, pairs].join(' | '));
      await sleep(1000);
    }
  } finally {
    redis.close();
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
