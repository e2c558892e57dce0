/**
 * DR rehearsal with real processes (redis-server, primary and peer `serve` processes), driven through
 * the primary's CIM server as an SMI-S client would, data written and read by real initiators
 * (qemu-io), refusals checked byte for byte with the raw initiator.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, waitFor } from '../unit/replication/helpers.ts';
import { drRig, MiB, type DrRig, qemuIo, rawWrite, reportAfter, sha256File } from './support/dr-rig.ts';
import { tcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { missingTools } from './support/tools.ts';

const missing = missingTools({ 'qemu-io': 'qemu-utils', 'redis-server': 'redis-server' });
const DATA_PROTECT = 0x07;
const WRITE_PROTECTED = 0x27;

t.test('DR rehearsal: failover fences the old source, failback brings the DR writes home', { skip: missing }, async (t) => {
  const rig = await drRig(t);
  const primary = rig.primary.summary;
  const peer = rig.peer.summary;

  // A on the primary reaches the replica.
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x41 0 4M').ok, 'the primary takes A');
  const writtenA = Date.now();
  t.ok(await reportAfter(rig, writtenA, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'A drained');
  t.ok(qemuIo(rig.url(rig.peer), 'read -P 0x41 0 4M').ok, 'the replica has A (read through the peer portal)');

  // Failover (10) through the primary's CIM server.
  t.equal(await rig.modify(10), 4096, 'Failover runs as a job (the source fences itself and drains first)');
  const failedOver = await rig.report();
  t.equal(failedOver?.entry.admin, 'failed-over');
  t.equal(failedOver?.entry.record.source.system, peer.name, 'the DR site is the source of the reversed relationship');
  t.equal(failedOver?.status?.copyState, 10, 'CopyState Failedover');
  const refused = await rawWrite(primary, 100);
  t.same(refused, { status: 2, key: DATA_PROTECT, asc: WRITE_PROTECTED, ascq: 0 }, 'a write to the old source: CHECK CONDITION, DATA PROTECT / WRITE PROTECTED');
  const qemuRefused = qemuIo(rig.url(rig.primary), 'write -P 0x58 0 64k');
  t.notOk(qemuRefused.ok, `qemu-io cannot write the old source either: ${qemuRefused.output.trim().split('\n')[0]}`);

  // The DR site takes B (4 MiB at 8 MiB).
  const drBytes = 4 * MiB;
  t.ok(qemuIo(rig.url(rig.peer), 'write -P 0x42 8M 4M').ok, 'the DR site takes B');
  const grainBytes = failedOver?.status?.grainBytes ?? 64 * 1024;

  // Failback (11), with the Synchronization path the client had before the failover.
  t.equal(await rig.modify(11), 4096, 'Failback runs as a job');
  const back = await rig.report();
  t.equal(back?.entry.admin, 'active');
  t.equal(back?.entry.record.source.system, primary.name, 'the original source is the source again');
  t.ok(qemuIo(rig.url(rig.primary), 'read -P 0x42 8M 4M').ok, 'the original source holds B');
  t.ok(qemuIo(rig.url(rig.primary), 'read -P 0x41 0 4M').ok, 'and still A');
  const transfer = back?.entry.lastTransfer;
  t.equal(transfer?.from, peer.name, 'the DR site shipped');
  t.equal(transfer?.grains, drBytes / grainBytes, `failback shipped the ${drBytes / grainBytes} grains changed at the DR site`);
  t.ok(transfer !== undefined && transfer.bytes >= drBytes && transfer.bytes < drBytes + 64 * 1024,
    `failback shipped ${transfer?.bytes} bytes for ${drBytes} bytes written at the DR site (LUN ${64 * MiB} bytes)`);
  t.comment(`failback: ${transfer?.grains} grains, ${transfer?.bytes} bytes shipped; ${drBytes} bytes written at the DR site`);

  // Roles as before: the original source writable, the DR site protected, both identical.
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x43 16M 1M').ok, 'the original source is writable again');
  t.same(await rawWrite(peer, 100), { status: 2, key: DATA_PROTECT, asc: WRITE_PROTECTED, ascq: 0 }, 'the DR site is protected again');
  const since = Date.now();
  t.ok(await reportAfter(rig, since, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'drained');
  t.equal(await sha256File(rig.lunFile(rig.peer)), await sha256File(rig.lunFile(rig.primary)), 'both LUNs identical (sha256)');
});

/**
 * `iscsi-sim ARGS` as a user runs it. Asynchronous: the partition tests' proxy runs in this process
 * and must keep forwarding meanwhile.
 */
function cli(args: readonly string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('exit', (status) => { clearTimeout(timer); resolve({ status, output }); });
  });
}

t.test('failover with the source killed; the restarted source is fenced before its first write; failback through `iscsi-sim pair`', { skip: missing }, async (t) => {
  const rig = await drRig(t);
  const primaryName = rig.primary.summary.name;
  const peerName = rig.peer.summary.name;
  // A lab.json like `iscsi-sim lab` writes: `pair` asks the primary first, the peer when it is down.
  await writeFile(join(rig.dir, 'lab.json'), JSON.stringify({
    redisUrl: rig.redis.url,
    systems: [
      { name: primaryName, role: 'primary', cimUrl: rig.primary.summary.cimUrl, cimCertificate: rig.primary.summary.cimCertificate },
      { name: peerName, role: 'peer', cimUrl: rig.peer.summary.cimUrl, cimCertificate: rig.peer.summary.cimCertificate },
    ],
  }));
  const pair = (...args: string[]) => cli(['pair', '--state-dir', rig.dir, ...args]);
  const pairId = (await rig.report())!.entry.record.pairId;

  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x41 0 4M').ok, 'the primary takes A');
  const writtenA = Date.now();
  t.ok(await reportAfter(rig, writtenA, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'A drained');
  const refusedNow = await pair(pairId, 'failback');
  t.equal(refusedNow.status, 1, 'failback of an active pair is refused (exit 1)');
  t.match(refusedNow.output, /failback refused: failback needs a failed-over pair; the pair is active/, `with the reason: ${refusedNow.output.trim()}`);

  rig.primary.process.kill('SIGKILL');
  await new Promise((resolve) => rig.primary.process.once('exit', resolve));
  const failover = await pair(pairId, 'failover', '--force', '--wait');
  t.equal(failover.status, 0, `failover with the primary's site down: ${failover.output.trim()}`);
  t.match(failover.output, new RegExp(`${pairId}: failover done: ${pairId} ${peerName} → ${primaryName} Failedover`));
  t.ok(qemuIo(rig.url(rig.peer), 'write -P 0x42 8M 4M').ok, 'the DR site takes B');

  const primary = await rig.restart('primary');
  const refused = await rawWrite(primary.summary, 100);
  t.same(refused, { status: 2, key: DATA_PROTECT, asc: WRITE_PROTECTED, ascq: 0 }, 'the restarted old source refuses a write made right after its restart');
  t.ok(await waitFor(async () => (await rig.report())?.entry.fenced === undefined, 30_000), 'the old source checked its changes and took its place as the target');
  t.same(await rawWrite(primary.summary, 100), { status: 2, key: DATA_PROTECT, asc: WRITE_PROTECTED, ascq: 0 }, 'and stays fenced');

  const failback = await pair(pairId, 'failback', '--wait');
  t.equal(failback.status, 0, `failback: ${failback.output.trim()}`);
  t.match(failback.output, new RegExp(`${pairId}: failback done: ${pairId} ${primaryName} → ${peerName} Synchronized`));
  const back = await rig.report();
  const transfer = back?.entry.lastTransfer;
  const grainBytes = back?.status?.grainBytes ?? 64 * 1024;
  t.ok(transfer !== undefined && transfer.grains >= (4 * MiB) / grainBytes, `failback shipped ${transfer?.grains} grains (${(4 * MiB) / grainBytes} written at the DR site, the rest marked by the crashed primary's activity log)`);
  t.comment(`failback after the kill: ${transfer?.grains} grains, ${transfer?.bytes} bytes shipped; ${4 * MiB} bytes written at the DR site`);
  t.ok(qemuIo(rig.url(primary), 'read -P 0x42 8M 4M').ok, 'the original source holds B');
  t.ok(qemuIo(rig.url(primary), 'read -P 0x41 0 4M').ok, 'and A');
  t.ok(qemuIo(rig.url(primary), 'write -P 0x43 16M 1M').ok, 'the original source is writable again');
  t.same(await rawWrite(rig.peer.summary, 100), { status: 2, key: DATA_PROTECT, asc: WRITE_PROTECTED, ascq: 0 }, 'the DR site is protected again');

  // `cim call` takes the Synchronization exactly as GetReplicationRelationships printed it.
  const cimUrl = primary.summary.cimUrl!;
  const trust = ['--cacert', primary.summary.cimCertificate!];
  const listed = await cli(['cim', '--url', cimUrl, ...trust, 'call', 'GetReplicationRelationships']);
  const printed = /Synchronizations=(\S+)/.exec(listed.output)?.[1];
  t.ok(printed, `GetReplicationRelationships printed a path: ${listed.output.trim()}`);
  const fracture = await cli(['cim', '--url', cimUrl, ...trust, 'call', 'ModifyReplicaSynchronization', '--arg', 'Operation=12', '--arg', `Synchronization=${printed}`]);
  t.equal(fracture.status, 0, `Fracture with the pasted path: ${fracture.output.trim()}`);
  const resume = await pair(pairId, 'resume', '--wait');
  t.equal(resume.status, 0, `resume: ${resume.output.trim()}`);
  const since = Date.now();
  t.ok(await reportAfter(rig, since, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'drained');
  t.equal(await sha256File(rig.lunFile(rig.peer)), await sha256File(rig.lunFile(primary)), 'both LUNs identical (sha256)');
});

interface PartitionRig { rig: DrRig; proxy: TcpProxy; pairId: string; pair: (...args: string[]) => Promise<{ status: number | null; output: string }> }

/** A rig whose primary reaches Redis through a proxy the test cuts (a partition), A written and drained. */
async function partitionRig(t: Test): Promise<PartitionRig> {
  let proxy: TcpProxy | undefined;
  const rig = await drRig(t, {
    redisUrlFor: async (name, url) => {
      if (name !== 'primary') return url;
      const target = new URL(url);
      proxy = await tcpProxy(target.hostname, Number(target.port));
      t.teardown(() => proxy?.close());
      return proxy.url;
    },
  });
  const pairId = (await rig.report())!.entry.record.pairId;
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x41 0 4M').ok, 'the primary takes A');
  const since = Date.now();
  t.ok(await reportAfter(rig, since, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'A drained');
  const certificate = rig.peer.summary.cimCertificate;
  const trust = certificate === undefined ? [] : ['--cacert', certificate];
  const pair = (...args: string[]) => cli(['pair', '--cim', rig.peer.summary.cimUrl!, '--system', rig.peer.summary.name, ...trust, ...args]);
  return { rig, proxy: proxy!, pairId, pair };
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('split brain: a forced failover during a partition while the source kept writing is reported, never resolved silently; resolve --keep converges', { skip: missing }, async (t) => {
  const { rig, proxy, pairId, pair } = await partitionRig(t);
  const primary = rig.primary.summary;
  const peer = rig.peer.summary;

  proxy.cut();
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x58 20M 2M').ok, 'cut off from Redis, the primary still takes writes (X, async: never blocked on Redis)');
  const failover = await pair(pairId, 'failover', '--force', '--wait');
  t.equal(failover.status, 0, `forced failover at the DR site during the partition: ${failover.output.trim()}`);
  t.ok(qemuIo(rig.url(rig.peer), 'write -P 0x43 8M 1M').ok, 'the DR site takes C');
  proxy.heal();

  t.ok(await waitFor(async () => {
    const entry = (await rig.report())?.entry;
    return entry?.admin === 'split-brain' && Object.keys(entry.splitBrain?.changes ?? {}).length === 2;
  }, 60_000), 'on reconnect the old source detects the split brain, both sides count their changes');
  const report = await rig.report();
  t.same(report?.entry.splitBrain?.changes, { [primary.name]: (2 * MiB) / (64 * 1024), [peer.name]: MiB / (64 * 1024) }, 'grains each side changed while disconnected');
  t.ok(await reportAfter(rig, Date.now(), (r) => r.status?.phase === 'split-brain' && r.status.copyState === 5), 'status: phase split-brain, CopyState 5 Broken');
  const status = await cli(['status', '--redis', rig.redis.url]);
  t.match(status.output, /split-brain.*SPLIT BRAIN \(primary changed 32 grains, peer changed 16 grains\)/, `iscsi-sim status says so: ${status.output.trim()}`);
  t.equal(await metric(rig.metricsUrl('peer'), 'iscsi_sim_replication_split_brain'), 1, '/metrics iscsi_sim_replication_split_brain 1');
  t.equal(await metric(rig.metricsUrl('peer'), 'iscsi_sim_replication_copy_state'), 5, '/metrics copy_state 5');
  const instance = await rig.cim.getInstance(await rig.synchronization());
  const property = (name: string) => { const v = instance.properties.find((p) => p.name === name)?.value; return v?.kind === 'value' ? v.text : undefined; };
  t.equal(property('CopyState'), '5', 'CIM CopyState 5 Broken');
  t.equal(property('SplitBrain')?.toLowerCase(), 'true', 'CIM SplitBrain true');
  t.ok(qemuIo(rig.url(rig.primary), 'read -P 0x58 20M 2M').ok, 'the old source still holds X (not overwritten)');
  t.ok(qemuIo(rig.url(rig.peer), 'read -P 0x43 8M 1M').ok, 'the DR site still holds C');
  t.same(await rawWrite(primary, 100), { status: 2, key: DATA_PROTECT, asc: WRITE_PROTECTED, ascq: 0 }, 'the old source is fenced');
  t.not(await sha256File(rig.lunFile(rig.peer)), await sha256File(rig.lunFile(rig.primary)), 'the sides differ until resolved');
  const refused = await pair(pairId, 'resume');
  t.match(refused.output, /refused: resume needs a fractured or suspended pair; the pair is split-brain/, 'no ordinary operation resolves it');

  const resolve = await pair('resolve', pairId, '--keep', peer.name, '--wait');
  t.equal(resolve.status, 0, `resolve --keep ${peer.name}: ${resolve.output.trim()}`);
  const since = Date.now();
  t.ok(await reportAfter(rig, since, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'drained');
  t.equal(await sha256File(rig.lunFile(rig.primary)), await sha256File(rig.lunFile(rig.peer)), 'the old source converged to the kept side (sha256)');
  t.ok(qemuIo(rig.url(rig.primary), 'read -P 0x43 8M 1M').ok, 'it holds C');
  t.ok(qemuIo(rig.url(rig.primary), 'read -P 0x00 20M 2M').ok, 'X is gone from it: the range reads as on the kept side (zeros)');
});

t.test('split brain policy discard-zero-changes: the side that changed nothing is resynced automatically', { skip: missing }, async (t) => {
  const { rig, proxy, pairId, pair } = await partitionRig(t);
  const primary = rig.primary.summary;
  const policy = await pair(pairId, 'policy', 'discard-zero-changes');
  t.equal(policy.status, 0, `policy set: ${policy.output.trim()}`);

  proxy.cut();
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x59 24M 1M').ok, 'cut off, the primary takes Y');
  t.equal((await pair(pairId, 'failover', '--force', '--wait')).status, 0, 'forced failover at the DR site; the DR site writes nothing');
  proxy.heal();

  t.ok(await waitFor(async () => {
    const report = await rig.report();
    return report?.entry.admin === 'active' && report.entry.record.source.system === primary.name && report.entry.splitBrain === undefined;
  }, 60_000), 'split brain resolved by the policy: the primary (the only side with changes) is the source again');
  const since = Date.now();
  t.ok(await reportAfter(rig, since, (r) => r.status?.phase === 'streaming' && r.status.dirtyGrains === 0 && r.status.epochsBehind === 0), 'drained');
  t.ok(qemuIo(rig.url(rig.peer), 'read -P 0x59 24M 1M').ok, 'the DR site got Y');
  t.equal(await sha256File(rig.lunFile(rig.peer)), await sha256File(rig.lunFile(rig.primary)), 'identical (sha256)');
  t.ok(qemuIo(rig.url(rig.primary), 'write -P 0x5a 30M 64k').ok, 'the primary is writable');
});
