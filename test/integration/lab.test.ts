/**
 * The lab end to end with real components only: `iscsi-sim lab` (embedded redis-server, primary and
 * peer processes, mirror created through CIM), 256 MiB of random data written by qemu-img through the
 * primary's portal, then read back through the PEER's own portal: same sha256.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CimClient } from '../../src/cim/client/client.ts';
import { servicePath } from '../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../src/cim/types.ts';
import { waitForJob } from '../../src/lab/lab-cim-setup.ts';
import { readPairReports } from '../../src/replication/status-reader.ts';
import { freeLabBasePort, repoRoot, tempDir, waitFor } from '../unit/replication/helpers.ts';
import { startLab } from './support/lab-process.ts';

const MiB = 1024 * 1024;
const DATA_BYTES = 256 * MiB;

async function sha256File(path: string, limit: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: limit - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function randomFile(path: string, bytes: number): Promise<void> {
  const file = await open(path, 'w');
  for (let at = 0; at < bytes; at += 4 * MiB) await file.write(randomBytes(4 * MiB), 0, 4 * MiB, at);
  await file.close();
}

function qemuImg(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync('qemu-img', args, { encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stderr: result.stderr };
}

t.test('lab: a write through the primary reads back identical through the peer', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-lab-');
  const lab = await startLab(t, { stateDir: join(dir, 'lab'), size: '512M' });
  const { ready, exited } = lab;
  t.equal(ready.systems.length, 2);

  // A second lab on the same state dir must not start a second Redis on the same AOF or rewrite lab.json.
  const startedSecond = Date.now();
  const second = spawnSync(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), 'lab', '--state-dir', join(dir, 'lab'), '--base-port', String(await freeLabBasePort())], { encoding: 'utf8', timeout: 60_000 });
  t.equal(second.status, 1, 'a second lab on the state dir exits 1');
  t.equal(second.stderr.trim(), `iscsi-sim: lab failed to start: state dir ${join(dir, 'lab')} is in use by process ${lab.process.pid}`, 'naming the first lab');
  // A hang guard, not a timing check: node + tsx start-up alone takes up to ~10 s on a loaded 2-CPU machine.
  t.ok(Date.now() - startedSecond < 20_000, `refused in ${Date.now() - startedSecond} ms`);
  t.equal(ready.pairs.length, 1, 'one mirror created through CIM');
  const [primary, peer] = ready.systems;
  const url = (system: typeof primary) => `iscsi://127.0.0.1:${system.portals[0].port}/${system.targets[0].iqn}/0`;

  const source = join(dir, 'random.img');
  await randomFile(source, DATA_BYTES);
  const write = qemuImg(['convert', '-n', '-f', 'raw', '-O', 'raw', source, url(primary)]);
  t.equal(write.status, 0, `qemu-img wrote 256 MiB to the primary ${write.stderr}`);
  const writtenAt = Date.now();

  const redis = new Redis(ready.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());
  const drained = await waitFor(async () => {
    const [report] = await readPairReports(redis);
    const status = report?.status;
    return !!status && Date.parse(status.updatedAt) > writtenAt && status.phase === 'streaming'
      && status.epochsBehind === 0 && status.dirtyGrains === 0;
  }, 180_000, 250);
  t.ok(drained, 'the pipeline drained');

  const copy = join(dir, 'peer-copy.img');
  const read = qemuImg(['convert', '-f', 'raw', '-O', 'raw', url(peer), copy]);
  t.equal(read.status, 0, `qemu-img read the peer's LUN through the peer's portal ${read.stderr}`);
  t.equal(await sha256File(copy, DATA_BYTES), await sha256File(source, DATA_BYTES), 'same sha256 on the peer');

  const refused = qemuImg(['convert', '-n', '-f', 'raw', '-O', 'raw', source, url(peer)]);
  t.not(refused.status, 0, 'the mirror target refuses writes from initiators');

  const status = spawnSync(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), 'status', '--json', '--state-dir', join(dir, 'lab')], { encoding: 'utf8' });
  t.equal(status.status, 0);
  const parsed = JSON.parse(status.stdout) as { pairs: Array<{ status: { phase: string } | null }> };
  t.equal(parsed.pairs[0]?.status?.phase, 'streaming', 'iscsi-sim status --json reports the pair');

  // Pair lifecycle through the primary's CIM server, as an SMI-S client would drive it.
  const cim = new CimClient({ url: primary.cimUrl!, caFile: primary.cimCertificate, timeoutMs: 30_000 });
  const service = { ...servicePath(primary.name), namespace: TARGET_NAMESPACE };
  const relationships = await cim.invokeMethod(service, 'GetReplicationRelationships', {});
  t.equal(relationships.returnValue, 0);
  const syncs = relationships.out.Synchronizations;
  const sync = syncs?.kind === 'refarray' ? syncs.paths[0] : undefined;
  t.ok(sync, 'GetReplicationRelationships lists the mirror');
  const fracture = await cim.invokeMethod(service, 'ModifyReplicaSynchronization', { Operation: 12, Synchronization: { ...sync!, namespace: TARGET_NAMESPACE } });
  t.equal(fracture.returnValue, 0, 'Fracture');
  t.ok(await waitFor(async () => (await readPairReports(redis))[0]?.status?.phase === 'fractured', 20_000), 'pair fractured');
  const resume = await cim.invokeMethod(service, 'ModifyReplicaSynchronization', { Operation: 16, Synchronization: { ...sync!, namespace: TARGET_NAMESPACE } });
  t.equal(resume.returnValue, 4096, 'Resume runs as a job');
  if (resume.out.Job?.kind === 'ref') await waitForJob(cim, resume.out.Job.path, 60_000);
  t.equal((await readPairReports(redis))[0]?.entry.admin, 'active', 'resumed');

  // Lag and progress on the StorageSynchronized instance; verify through the vendor method.
  const syncPath = { ...sync!, namespace: TARGET_NAMESPACE };
  const instance = await cim.getInstance(syncPath);
  const property = (name: string) => instance.properties.find((p) => p.name === name)?.value;
  for (const name of ['ProgressStatus', 'EpochsBehind', 'BytesBehind', 'RPOSeconds']) t.equal(property(name)?.kind, 'value', `${name} is shown`);
  const verify = await cim.invokeMethod(service, 'VerifyReplica', { Synchronization: syncPath, Repair: false });
  t.equal(verify.returnValue, 0, 'VerifyReplica (vendor method)');
  const compared = verify.out.ComparedChunks;
  t.ok(compared?.kind === 'value' && Number(compared.text) > 0, 'chunks compared');
  const divergent = verify.out.DivergentOffsets;
  t.ok(!divergent || divergent.kind === 'null' || (divergent.kind === 'array' && divergent.items.length === 0), 'no divergent chunk');
  const cliVerify = spawnSync(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), 'verify', '--json', '--state-dir', join(dir, 'lab')], { encoding: 'utf8', timeout: 120_000 });
  t.equal(cliVerify.status, 0, `iscsi-sim verify exits 0 when nothing diverges ${cliVerify.stderr}`);
  const verified = JSON.parse(cliVerify.stdout || '{}') as { pairs?: Array<{ compared: number; divergentOffsets: number[] }> };
  t.ok((verified.pairs?.[0]?.compared ?? 0) > 0 && verified.pairs?.[0]?.divergentOffsets.length === 0, 'iscsi-sim verify compared the pair');

  lab.process.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C stops the lab cleanly');
});
