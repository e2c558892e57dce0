/**
 * DR rehearsal with real processes (redis-server, primary and peer `serve` processes), driven through
 * the primary's CIM server as an SMI-S client would, data written and read by real initiators
 * (qemu-io), refusals checked byte for byte with the raw initiator.
 */
import t from 'tap';
import { drRig, MiB, qemuIo, rawWrite, reportAfter, sha256File } from './support/dr-rig.ts';
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
