/**
 * Thin provisioning against a real `iscsi-sim serve` (issue 3): UNMAP punches real holes in the
 * backing file (its allocated blocks shrink, the range reads back as zeros), and GET LBA STATUS
 * reports exactly the file's data/hole layout as the filesystem sees it (SEEK_DATA / SEEK_HOLE).
 * Data goes in and out through QEMU's block layer (qemu-io); UNMAP and GET LBA STATUS through the
 * raw test initiator.
 */
import t from 'tap';
import { statSync } from 'node:fs';
import { getLbaStatus, parseLbaStatus, unmap, STATUS_GOOD } from './support/scsi-cdbs.ts';
import { rawSession } from './support/raw-session.ts';
import { startSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';

const MIB = 1024 * 1024;
const skip = missingTools({ 'qemu-io': 'qemu-utils qemu-block-extra', python3: 'python3' });

/** 512-byte units allocated to the file (stat's %b). */
function allocatedBlocks(path: string): number {
  return statSync(path).blocks;
}

async function qemuIo(url: string, ...commands: string[]): Promise<{ code: number | null; output: string }> {
  const result = await run('qemu-io', ['-f', 'raw', ...commands.flatMap((c) => ['-c', c]), url], 120_000);
  return { code: result.code, output: result.stdout + result.stderr };
}

// Node's fs has no SEEK_DATA/SEEK_HOLE; python3's os.lseek has them (Linux lseek(2)).
const DATA_EXTENTS_PY = `
import os, sys, json
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
extents, offset = [], 0
while offset < size:
    try:
        start = os.lseek(fd, offset, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, start, os.SEEK_HOLE)
    extents.append([start, end])
    offset = end
print(json.dumps(extents))
`;

async function fileDataExtents(path: string): Promise<Array<[number, number]>> {
  const result = await run('python3', ['-c', DATA_EXTENTS_PY, path]);
  if (result.code !== 0) throw new Error(`SEEK_DATA scan failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Array<[number, number]>;
}

t.test('UNMAP punches holes: the backing file\'s allocated blocks shrink and the range reads zeros', { skip }, async (t) => {
  const system = await startSystem({ luns: ['64M'] });
  t.teardown(() => system.stop());
  const url = system.url();
  const file = system.summary.targets[0].luns[0].file!;

  const written = await qemuIo(url, 'write -P 0xab 0 16M');
  t.equal(written.code, 0, 'qemu-io wrote 16 MiB of 0xab', { output: written.output });
  const before = allocatedBlocks(file);
  t.ok(before >= (16 * MIB) / 512, `file holds the data: ${before} blocks of 512 allocated`);

  const session = await rawSession(system);
  t.teardown(() => session.conn.destroy());
  t.equal(session.blockSize, 512);
  const request = unmap((2 * MIB) / 512, (8 * MIB) / 512); // 2 MiB .. 10 MiB
  const unmapped = await session.command(request.cdb, { out: request.out });
  t.equal(unmapped.status, STATUS_GOOD, 'UNMAP of 8 MiB: GOOD');
  const afterUnmap = allocatedBlocks(file);
  t.ok(before - afterUnmap >= (8 * MIB) / 512, `stat: ${before} → ${afterUnmap} blocks (8 MiB = ${(8 * MIB) / 512} freed at least)`);

  // QEMU's discard goes out as UNMAP too (its iscsi driver, LBPU set in VPD B2).
  const discarded = await qemuIo(url, 'discard 12M 2M');
  t.equal(discarded.code, 0, 'qemu-io discard 2 MiB', { output: discarded.output });
  const afterDiscard = allocatedBlocks(file);
  t.ok(afterUnmap - afterDiscard >= (2 * MIB) / 512, `stat: ${afterUnmap} → ${afterDiscard} blocks after the discard`);

  const readBack = await qemuIo(url, 'read -P 0 2M 8M', 'read -P 0 12M 2M', 'read -P 0xab 0 2M', 'read -P 0xab 10M 2M', 'read -P 0xab 14M 2M');
  t.equal(readBack.code, 0, 'qemu-io read -P: unmapped ranges read zeros, the rest still 0xab', { output: readBack.output });
  t.notMatch(readBack.output, /Pattern verification failed/, 'no pattern mismatch');

  const extents = await fileDataExtents(file);
  t.notOk(extents.some(([start, end]) => start < 10 * MIB && end > 2 * MIB), 'SEEK_DATA finds no data in 2..10 MiB', { extents });
  await session.logout();
  t.ok(system.alive(), 'target still running');
});

t.test('GET LBA STATUS matches the backing file\'s data and holes', { skip }, async (t) => {
  const system = await startSystem({ luns: ['64M'] });
  t.teardown(() => system.stop());
  const url = system.url();
  const file = system.summary.targets[0].luns[0].file!;
  const written = await qemuIo(url, 'write -P 1 0 1M', 'write -P 2 3M 512K', 'write -P 3 10M 64K', 'write -P 4 40M 3M', 'write -P 5 63M 1M');
  t.equal(written.code, 0, 'qemu-io wrote five extents', { output: written.output });

  const session = await rawSession(system);
  t.teardown(() => session.conn.destroy());
  const totalBlocks = (64 * MIB) / 512;

  // Walk the LUN with GET LBA STATUS (the target may answer a window at a time).
  const reported: Array<{ start: number; end: number; mapped: boolean }> = [];
  let next = 0;
  for (let calls = 0; next < totalBlocks && calls < 1000; calls++) {
    const answer = await session.command(getLbaStatus(next, 4096), { inLength: 4096 });
    t.equal(answer.status, STATUS_GOOD, `GET LBA STATUS at LBA ${next}`, { sense: answer.sense.toString('hex') });
    if (answer.status !== STATUS_GOOD) break;
    const descriptors = parseLbaStatus(answer.data);
    if (descriptors.length === 0 || descriptors[0].lba !== next) {
      t.fail(`first descriptor must start at the requested LBA ${next}`, { descriptors });
      break;
    }
    for (const d of descriptors) {
      const mapped = d.provisioning === 0;
      const last = reported.at(-1);
      if (last !== undefined && last.mapped === mapped && last.end === d.lba) last.end = d.lba + d.blocks;
      else reported.push({ start: d.lba, end: d.lba + d.blocks, mapped });
      next = d.lba + d.blocks;
    }
  }
  t.equal(next, totalBlocks, 'descriptors cover the whole LUN');

  const mappedByTarget = reported.filter((r) => r.mapped).map((r) => [r.start * 512, r.end * 512]);
  const dataInFile = await fileDataExtents(file);
  t.comment(`file data extents (bytes): ${JSON.stringify(dataInFile)}`);
  t.same(mappedByTarget, dataInFile, 'mapped extents = the file\'s SEEK_DATA extents, deallocated = its holes');
  for (const [start, length] of [[0, MIB], [3 * MIB, MIB / 2], [10 * MIB, 64 * 1024], [40 * MIB, 3 * MIB], [63 * MIB, MIB]]) {
    t.ok(mappedByTarget.some(([s, e]) => s <= start && e >= start + length), `written ${start / MIB} MiB +${length / 1024} KiB is reported mapped`);
  }
  t.ok(reported.some((r) => !r.mapped && r.start * 512 <= 20 * MIB && r.end * 512 >= 30 * MIB), 'the never-written 20..30 MiB is reported deallocated');
  await session.logout();
});
