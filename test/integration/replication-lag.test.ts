/**
 * Issue 8, point 4: true lag in every phase, with real components (`iscsi-sim lab`: embedded
 * redis-server, primary and peer processes, the mirror made through CIM; qemu-img writing through the
 * primary's portal). Fractured with 16 MiB written, RPO > 0 and out-of-sync bytes ≥ 16 MiB in
 * `iscsi-sim status`, /metrics and CIM; after Resume both are 0 again and WhenSynced moved.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CimClient } from '../../src/cim/client/client.ts';
import { servicePath } from '../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE, type ObjectPath } from '../../src/cim/types.ts';
import { waitForJob } from '../../src/lab/lab-cim-setup.ts';
import type { PairStatus } from '../../src/replication/pair-types.ts';
import { repoRoot, tempDir, waitFor } from '../unit/replication/helpers.ts';
import { startLab } from './support/lab-process.ts';

const MiB = 1024 * 1024;
const WRITTEN = 16 * MiB;
const CLI = join(repoRoot, 'bin', 'iscsi-sim.js');

interface Lag { rpo: number; outOfSync: number; whenSynced: number | undefined }

/** `iscsi-sim status --json` (what the operator sees) for the lab's one pair. */
function statusLag(stateDir: string): Lag & { phase: string; text: string } {
  const json = spawnSync(process.execPath, [CLI, 'status', '--json', '--state-dir', stateDir], { encoding: 'utf8', timeout: 30_000 });
  const status = (JSON.parse(json.stdout) as { pairs: Array<{ status: PairStatus | null }> }).pairs[0]?.status;
  const text = spawnSync(process.execPath, [CLI, 'status', '--state-dir', stateDir], { encoding: 'utf8', timeout: 30_000 }).stdout;
  return {
    phase: status?.phase ?? 'none', rpo: status?.rpoSeconds ?? -1, outOfSync: status?.outOfSyncBytes ?? -1,
    whenSynced: status?.whenSynced ? Date.parse(status.whenSynced) : undefined, text,
  };
}

/** The source's gauges from the primary's /metrics. */
async function metricsLag(url: string): Promise<Lag> {
  // A fresh connection each time: a kept-alive one the server already closed fails the fetch.
  const response = await fetch(url, { headers: { connection: 'close' } }).catch((err: Error) => {
    throw new Error(`GET ${url}: ${err.message} (${String((err.cause as Error | undefined)?.message ?? '')})`);
  });
  const body = await response.text();
  const gauge = (name: string): number => {
    const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('role="source"'));
    return line === undefined ? -1 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const when = gauge('iscsi_sim_replication_when_synced_timestamp_seconds');
  return {
    rpo: gauge('iscsi_sim_replication_rpo_seconds'),
    outOfSync: gauge('iscsi_sim_replication_out_of_sync_bytes'),
    whenSynced: when > 0 ? when * 1000 : undefined,
  };
}

/** CIM datetime yyyymmddhhmmss.mmmmmm+000 (UTC) to ms. */
function cimTime(text: string): number {
  const [y, mo, d, h, mi, s] = [text.slice(0, 4), text.slice(4, 6), text.slice(6, 8), text.slice(8, 10), text.slice(10, 12), text.slice(12, 14)].map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s, Math.floor(Number(text.slice(15, 21)) / 1000));
}

/** MSISCSITARGET_StorageSynchronized from a CIM server, as an SMI-S client reads it. */
async function cimLag(cim: CimClient, sync: ObjectPath): Promise<Lag> {
  const instance = await cim.getInstance(sync);
  const value = (name: string): string | undefined => {
    const property = instance.properties.find((p) => p.name === name)?.value;
    return property?.kind === 'value' ? property.text : undefined;
  };
  const when = value('WhenSynced');
  return { rpo: Number(value('RPOSeconds') ?? -1), outOfSync: Number(value('OutOfSyncBytes') ?? -1), whenSynced: when ? cimTime(when) : undefined };
}

t.test('fractured with 16 MiB written: RPO and out-of-sync bytes in status, /metrics and CIM; Resume brings both to 0', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-lag-');
  const stateDir = join(dir, 'lab');
  const lab = await startLab(t, { stateDir, size: '64M' });
  const { ready, exited } = lab;
  const [primary, peer] = ready.systems;
  const cim = new CimClient({ url: primary.cimUrl!, caFile: primary.cimCertificate, timeoutMs: 30_000 });
  const peerCim = new CimClient({ url: peer.cimUrl!, caFile: peer.cimCertificate, timeoutMs: 30_000 });
  const service = { ...servicePath(primary.name), namespace: TARGET_NAMESPACE };
  const relationships = await cim.invokeMethod(service, 'GetReplicationRelationships', {});
  const syncs = relationships.out.Synchronizations;
  const sync = { ...(syncs?.kind === 'refarray' ? syncs.paths[0] : ({} as ObjectPath)), namespace: TARGET_NAMESPACE };
  t.ok(sync.keys, 'GetReplicationRelationships lists the mirror');

  let synced: Lag | undefined;
  t.ok(await waitFor(async () => {
    const status = statusLag(stateDir);
    synced = status;
    return status.phase === 'streaming' && status.rpo === 0 && status.outOfSync === 0 && status.whenSynced !== undefined;
  }, 60_000, 250), 'in sync after the initial sync: RPO 0, nothing out of sync, WhenSynced set');
  const firstSynced = synced!.whenSynced!;

  const fracture = await cim.invokeMethod(service, 'ModifyReplicaSynchronization', { Operation: 12, Synchronization: sync });
  t.equal(fracture.returnValue, 0, 'Fracture (12) through CIM');
  t.ok(await waitFor(() => statusLag(stateDir).phase === 'fractured', 20_000, 250), 'pair fractured');

  const data = join(dir, 'data.img');
  await writeFile(data, randomBytes(WRITTEN));
  const url = `iscsi://127.0.0.1:${primary.portals[0].port}/${primary.targets[0].iqn}/0`;
  const write = spawnSync('qemu-img', ['convert', '-n', '-t', 'writethrough', '-f', 'raw', '-O', 'raw', data, url], { encoding: 'utf8', timeout: 120_000 });
  t.equal(write.status, 0, `qemu-img wrote 16 MiB while fractured ${write.stderr}`);
  const writtenAt = Date.now();

  // Wait until the published status is from after the write (and the write is ≥ 1 s old).
  let fractured: ReturnType<typeof statusLag> | undefined;
  t.ok(await waitFor(() => {
    fractured = statusLag(stateDir);
    return fractured.outOfSync >= WRITTEN && fractured.rpo >= 1;
  }, 30_000, 250), 'status shows the fractured lag');
  t.comment(`status while fractured: RPO ${fractured!.rpo.toFixed(2)} s, out of sync ${fractured!.outOfSync} bytes`);
  t.ok(fractured!.rpo > 0, `status: RPO > 0 (${fractured!.rpo} s)`);
  t.ok(fractured!.rpo <= (Date.now() - writtenAt) / 1000 + 120, 'status: RPO no older than the test');
  t.ok(fractured!.outOfSync >= WRITTEN, `status: out of sync ≥ 16 MiB (${fractured!.outOfSync})`);
  t.match(fractured!.text, /fractured .*out of sync 16\.\d MiB .*RPO \d+\.\d s/, `the status line says it: ${fractured!.text.trim()}`);

  const metrics = await metricsLag(primary.metricsUrl);
  t.comment(`/metrics while fractured: RPO ${metrics.rpo} s, out of sync ${metrics.outOfSync} bytes`);
  t.ok(metrics.rpo > 0, `/metrics: rpo_seconds > 0 (${metrics.rpo})`);
  t.ok(metrics.outOfSync >= WRITTEN, `/metrics: out_of_sync_bytes ≥ 16 MiB (${metrics.outOfSync})`);

  for (const [name, client] of [['primary', cim], ['peer', peerCim]] as const) {
    const lag = await cimLag(client, sync);
    t.comment(`CIM (${name}) while fractured: RPOSeconds ${lag.rpo}, OutOfSyncBytes ${lag.outOfSync}`);
    t.ok(lag.rpo > 0, `CIM on the ${name}: RPOSeconds > 0 (${lag.rpo})`);
    t.ok(lag.outOfSync >= WRITTEN, `CIM on the ${name}: OutOfSyncBytes ≥ 16 MiB (${lag.outOfSync})`);
    t.equal(lag.whenSynced, firstSynced, `CIM on the ${name}: WhenSynced still the initial sync's`);
  }

  const resume = await cim.invokeMethod(service, 'ModifyReplicaSynchronization', { Operation: 16, Synchronization: sync });
  t.equal(resume.returnValue, 4096, 'Resume (16) runs as a job');
  if (resume.out.Job?.kind === 'ref') await waitForJob(cim, resume.out.Job.path, 120_000);
  let resumed: ReturnType<typeof statusLag> | undefined;
  t.ok(await waitFor(() => {
    resumed = statusLag(stateDir);
    return resumed.phase === 'streaming' && resumed.rpo === 0 && resumed.outOfSync === 0;
  }, 60_000, 250), 'status: RPO 0 and nothing out of sync after Resume');
  t.ok((resumed!.whenSynced ?? 0) > firstSynced, `status: WhenSynced moved (${new Date(firstSynced).toISOString()} → ${resumed!.whenSynced ? new Date(resumed!.whenSynced).toISOString() : 'none'})`);
  t.ok((resumed!.whenSynced ?? 0) >= writtenAt, 'status: WhenSynced is after the write');

  t.ok(await waitFor(async () => {
    const m = await metricsLag(primary.metricsUrl);
    return m.rpo === 0 && m.outOfSync === 0 && (m.whenSynced ?? 0) > firstSynced;
  }, 20_000, 250), '/metrics: 0 and 0, when_synced moved');
  for (const [name, client] of [['primary', cim], ['peer', peerCim]] as const) {
    t.ok(await waitFor(async () => {
      const lag = await cimLag(client, sync);
      return lag.rpo === 0 && lag.outOfSync === 0 && (lag.whenSynced ?? 0) > firstSynced;
    }, 20_000, 250), `CIM on the ${name}: RPOSeconds 0, OutOfSyncBytes 0, WhenSynced moved`);
  }

  lab.process.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C stops the lab');
});
