/**
 * A DR rehearsal rig with real components only: a private redis-server, the lab's primary and peer
 * as separate `iscsi-sim serve` processes, the mirror created through the primary's CIM server, and
 * real initiators (qemu-io for data, the raw test initiator to read sense bytes exactly).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CimClient } from '../../../src/cim/client/client.ts';
import { servicePath } from '../../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE, type ObjectPath } from '../../../src/cim/types.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/lab/embedded-redis.ts';
import { createMirror, ensureCollection, waitForJob } from '../../../src/lab/lab-cim-setup.ts';
import { labPorts, writeLabConfigs, type LabSystemFiles } from '../../../src/lab/lab-config.ts';
import { startSystemChild, type SystemChild } from '../../../src/lab/system-child.ts';
import { readPairReports, type PairReport } from '../../../src/replication/status-reader.ts';
import type { SystemSummary } from '../../../src/system/system.ts';
import { TestSession } from '../../support/iscsi-wire/session.ts';
import { freeLabBasePort, tempDir, waitFor, type TapLike } from '../../unit/replication/helpers.ts';

export const MiB = 1024 * 1024;

export interface DrRig {
  readonly dir: string;
  readonly redis: EmbeddedRedis;
  readonly client: Redis;
  readonly files: LabSystemFiles[];
  readonly primary: SystemChild;
  readonly peer: SystemChild;
  /** The CIM client of the primary and its ReplicationService path. */
  readonly cim: CimClient;
  readonly service: ObjectPath;
  /** LUN 0's file of a system. */
  lunFile(system: SystemChild): string;
  url(system: SystemChild): string;
  /** Starts (again) the system process of `which` with its config and state. */
  restart(which: 'primary' | 'peer'): Promise<SystemChild>;
  /** The system's Prometheus endpoint. */
  metricsUrl(which: 'primary' | 'peer'): string;
  /** The pair as GetReplicationRelationships prints it. */
  synchronization(): Promise<ObjectPath>;
  /** ModifyReplicaSynchronization through the primary's CIM server; waits for the job when 4096. */
  modify(operation: number, force?: boolean): Promise<number>;
  report(): Promise<PairReport | undefined>;
}

export async function drRig(t: TapLike, options: { lunBytes?: number; redisUrlFor?: (name: string, redisUrl: string) => string | Promise<string> } = {}): Promise<DrRig> {
  const dir = await tempDir(t, 'iscsi-sim-dr-');
  const ports = labPorts(await freeLabBasePort());
  const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), port: ports.redis, appendOnly: true });
  t.teardown(() => redis.stop());
  const files = await writeLabConfigs(join(dir, 'lab'), ports, redis.url, `${(options.lunBytes ?? 64 * MiB) / MiB}M`);
  if (options.redisUrlFor) {
    const { readFile, writeFile } = await import('node:fs/promises');
    for (const file of files) {
      const text = await readFile(file.configPath, 'utf8');
      await writeFile(file.configPath, text.split(redis.url).join(await options.redisUrlFor(file.name, redis.url)));
    }
  }
  const children: SystemChild[] = [];
  t.teardown(async () => { for (const child of children) await child.stop(); });
  const start = async (file: LabSystemFiles) => {
    const child = await startSystemChild(file.name, file.configPath, file.stateDir);
    children.push(child);
    return child;
  };
  const state = { primary: await start(files[0]), peer: await start(files[1]) };
  const cim = new CimClient({ url: state.primary.summary.cimUrl!, caFile: state.primary.summary.cimCertificate, timeoutMs: 60_000 });
  const collection = await ensureCollection(cim, state.primary.summary, state.peer.summary);
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  client.on('error', () => undefined);
  t.teardown(() => client.disconnect());
  await waitFor(async () => (await client.hlen(`iscsi-sim:volumes:${files[1].name}`).catch(() => 0)) > 0);
  const job = await createMirror(cim, state.primary.summary, state.peer.summary, collection, 'async');
  if (job) await waitForJob(cim, job, 60_000);
  const service = { ...servicePath(state.primary.summary.name), namespace: TARGET_NAMESPACE };
  const rig: DrRig = {
    dir, redis, client, files, cim, service,
    get primary() { return state.primary; },
    get peer() { return state.peer; },
    lunFile: (system) => system.summary.targets[0].luns[0].file!,
    metricsUrl: (which) => `http://127.0.0.1:${which === 'primary' ? ports.primaryMetrics : ports.peerMetrics}/metrics`,
    url: (system) => urlOf(system.summary),
    restart: async (which) => {
      state[which] = await start(files[which === 'primary' ? 0 : 1]);
      return state[which];
    },
    synchronization: async () => {
      const result = await cim.invokeMethod(service, 'GetReplicationRelationships', {});
      const syncs = result.out.Synchronizations;
      const path = syncs?.kind === 'refarray' ? syncs.paths[0] : undefined;
      if (!path) throw new Error('GetReplicationRelationships listed no mirror');
      return { ...path, namespace: TARGET_NAMESPACE };
    },
    modify: async (operation, force) => {
      const result = await cim.invokeMethod(service, 'ModifyReplicaSynchronization', {
        Operation: operation, Synchronization: await rig.synchronization(), ...(force ? { Force: true } : {}),
      });
      if (result.returnValue === 4096 && result.out.Job?.kind === 'ref') await waitForJob(cim, result.out.Job.path, 120_000);
      return result.returnValue;
    },
    report: async () => (await readPairReports(client).catch(() => []))[0],
  };
  return rig;
}

export function urlOf(summary: SystemSummary): string {
  return `iscsi://127.0.0.1:${summary.portals[0].port}/${summary.targets[0].iqn}/0`;
}

/** qemu-io (QEMU's block layer over libiscsi) runs one command against a LUN. */
export function qemuIo(url: string, command: string): { ok: boolean; output: string } {
  // Reads open the LUN read-only: QEMU refuses to open a write-protected LUN read-write.
  const readOnly = command.startsWith('read') ? ['-r'] : [];
  const result = spawnSync('qemu-io', [...readOnly, '-f', 'raw', '-c', command, url], { encoding: 'utf8', timeout: 120_000 });
  const output = `${result.stdout}${result.stderr}`;
  // qemu-io exits 0 even when the I/O failed: its message says so.
  const ok = result.status === 0 && !/failed|error|denied|not permitted/i.test(output);
  return { ok, output };
}

/** One WRITE(10) through the raw initiator: status and sense key / ASC / ASCQ. */
export async function rawWrite(summary: SystemSummary, lba: number, blocks = 1): Promise<{ status: number; key: number; asc: number; ascq: number }> {
  const portal = summary.portals[0];
  const session = await TestSession.login(portal.address, portal.port, { targetName: summary.targets[0].iqn });
  try {
    await session.readCapacity();
    const result = await session.write10(lba, Buffer.alloc(blocks * 512, 0x5a));
    const sense = result.sense;
    return sense.length >= 14
      ? { status: result.status, key: sense[2] & 0x0f, asc: sense[12], ascq: sense[13] }
      : { status: result.status, key: 0, asc: 0, ascq: 0 };
  } finally {
    await session.logout().catch(() => undefined);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The pair's source published a status after `since` that satisfies `check`. */
export async function reportAfter(rig: DrRig, since: number, check: (report: PairReport) => boolean, timeoutMs = 60_000): Promise<boolean> {
  return waitFor(async () => {
    const report = await rig.report();
    return !!report?.status && Date.parse(report.status.updatedAt) > since && check(report);
  }, timeoutMs, 200);
}
