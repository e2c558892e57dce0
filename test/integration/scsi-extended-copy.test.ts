/**
 * Copy offload with a real initiator (issue 3): `qemu-img convert -C` between two LUNs of one target
 * goes out as EXTENDED COPY (QEMU's iscsi driver, copy_range), which the target's counters show
 * (`serve` prints `iscsi-sim counters: {JSON}` on SIGUSR2), and the copy is byte-identical.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCountersLine, type CountersReport } from '../../src/cli/counters-line.ts';
import { startSystem, type RunningSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';
import { waitFor } from '../support/wait-for.ts';

const MIB = 1024 * 1024;
const COUNTERS_WAIT_MS = 30_000;

function sha256(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('error', fail).on('end', () => done(hash.digest('hex')));
  });
}

function countersLines(system: RunningSystem): CountersReport[] {
  return system.output().split('\n').map(parseCountersLine).filter((r): r is CountersReport => r !== undefined);
}

/** Asks the process for its counters (SIGUSR2) and waits, bounded, for the new line. */
async function counters(system: RunningSystem): Promise<{ count: number; bytes: number }> {
  const seen = countersLines(system).length;
  process.kill(system.pid, 'SIGUSR2');
  if (await waitFor(() => countersLines(system).length > seen, COUNTERS_WAIT_MS, 50)) {
    return countersLines(system).at(-1)!.targets[0].copyOperations;
  }
  throw new Error(`no counters line within ${COUNTERS_WAIT_MS} ms of SIGUSR2`);
}

t.test('qemu-img convert -C between two LUNs uses EXTENDED COPY and copies byte for byte', { skip: missingTools({ 'qemu-img': 'qemu-utils qemu-block-extra', 'qemu-io': 'qemu-utils qemu-block-extra' }) }, async (t) => {
  const system = await startSystem({ luns: ['64M', '64M'] });
  t.teardown(() => system.stop());
  const [lun0, lun1] = [system.url(0, 0), system.url(0, 1)];
  const source = join(system.dir, 'random.raw');
  await writeFile(source, randomBytes(64 * MIB));
  const filled = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, lun0], 300_000);
  t.equal(filled.code, 0, 'LUN 0 filled with 64 MiB of random data', { stderr: filled.stderr });
  t.same(await counters(system), { count: 0, bytes: 0 }, 'no copy operations yet');

  const plain = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', lun0, lun1], 300_000);
  t.equal(plain.code, 0, 'control: qemu-img convert without -C', { stderr: plain.stderr });
  t.same(await counters(system), { count: 0, bytes: 0 }, 'a copy through the host does not count as EXTENDED COPY');
  const zeroed = await run('qemu-io', ['-f', 'raw', '-c', 'write -z 0 64M', lun1], 60_000);
  t.equal(zeroed.code, 0, 'LUN 1 zeroed again before the offloaded copy', { stderr: zeroed.stderr });
  const differs = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', lun0, lun1], 300_000);
  t.equal(differs.code, 1, 'qemu-img compare: LUN 0 and LUN 1 now differ');

  const offloaded = await run('qemu-img', ['convert', '-C', '-n', '-f', 'raw', '-O', 'raw', lun0, lun1], 300_000);
  t.equal(offloaded.code, 0, 'qemu-img convert -C (copy offloading required) LUN 0 → LUN 1', { stderr: offloaded.stderr });
  const after = await counters(system);
  t.comment(`EXTENDED COPY: ${after.count} operations, ${after.bytes} bytes`);
  t.ok(after.count > 0, `the target counted EXTENDED COPY operations (${after.count})`);
  t.equal(after.bytes, 64 * MIB, 'and 64 MiB moved by them');

  const compared = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', lun0, lun1], 300_000);
  t.equal(compared.code, 0, 'qemu-img compare: LUN 0 and LUN 1 identical', { stdout: compared.stdout });
  const copyOut = join(system.dir, 'copy.raw');
  const read = await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', lun1, copyOut], 300_000);
  t.equal(read.code, 0, 'LUN 1 read out', { stderr: read.stderr });
  const [sourceHash, copyHash, fileHash] = await Promise.all([sha256(source), sha256(copyOut), sha256(system.summary.targets[0].luns[1].file!)]);
  t.equal(copyHash, sourceHash, `sha256 through the initiator ${sourceHash.slice(0, 16)}… identical`);
  t.equal(fileHash, sourceHash, 'LUN 1\'s backing file is byte-identical too');
  t.ok(system.alive(), 'target still running');
});
