/**
 * Issue 8, point 7 with real components: the primary's dirty map becomes unwritable under the running
 * process (`chattr +i` on ext4 makes every write through the open descriptor fail with EPERM, like a
 * failing disk would), writes through the raw iSCSI initiator that need a new on-disk mark get CHECK
 * CONDITION (HARDWARE ERROR / WRITE ERROR) and write nothing, `status` says so, and once the file is
 * writable again writes succeed and every one answered GOOD is marked on disk.
 * Needs root and a filesystem with the immutable attribute (ext4/xfs/btrfs); skipped otherwise.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFile, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirtyMap } from '../../src/replication/capture/dirty-map.ts';
import { replicationOptions } from '../../src/replication/options.ts';
import { drRig, MiB, rawWrite } from './support/dr-rig.ts';
import { tempDir, waitFor } from '../unit/replication/helpers.ts';

const LUN_BYTES = 256 * MiB;
const BLOCK = 512;

function chattr(flag: '+i' | '-i', file: string): boolean {
  return spawnSync('chattr', [flag, file], { encoding: 'utf8' }).status === 0;
}

async function immutableWorks(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (chattr +i)';
  const probe = join(await tempDir(t, 'iscsi-sim-chattr-'), 'probe');
  await writeFile(probe, 'x');
  if (!chattr('+i', probe)) return 'the temp dir\'s filesystem has no immutable attribute (chattr +i failed)';
  chattr('-i', probe);
  return undefined;
}

/** What the map file says now (read from a copy, so the running process's file is not touched). */
async function onDisk(file: string, dir: string): Promise<DirtyMap> {
  const copy = join(dir, `copy-${Date.now()}.dirty`);
  await copyFile(file, copy);
  const options = replicationOptions();
  return DirtyMap.open(copy, LUN_BYTES, options.grainBytes, { extentBytes: options.activityExtentBytes });
}

const skip = await immutableWorks();

t.test('an unwritable dirty map fails the writes that need it with HARDWARE ERROR / WRITE ERROR', { skip: skip ?? false }, async (t) => {
  const rig = await drRig(t, { lunBytes: LUN_BYTES });
  const extentBytes = replicationOptions().activityExtentBytes;
  const grainBytes = replicationOptions().grainBytes;
  const pairId = (await rig.report())!.entry.record.pairId;
  const mapFile = join(rig.files[0].stateDir, 'replication', `${pairId}.source.dirty`);
  t.equal(await rig.modify(12), 0, 'Fracture: what is written now stays in the dirty map');
  t.ok(await waitFor(async () => (await rig.report())?.status?.phase === 'fractured', 20_000), 'fractured');

  t.ok(chattr('+i', mapFile), `chattr +i ${mapFile}`);
  t.teardown(() => { chattr('-i', mapFile); });
  const lba = (40 * extentBytes) / BLOCK;
  const failed = await rawWrite(rig.primary.summary, lba, 8);
  t.same(failed, { status: 2, key: 0x4, asc: 0x0c, ascq: 0x00 }, 'CHECK CONDITION, HARDWARE ERROR / WRITE ERROR');
  const lun = await open(rig.lunFile(rig.primary), 'r');
  const data = Buffer.alloc(8 * BLOCK);
  await lun.read(data, 0, data.length, lba * BLOCK);
  await lun.close();
  t.notOk(data.includes(0x5a), 'nothing was written to the LUN');
  t.ok(await waitFor(async () => /EPERM/.test((await rig.report())?.status?.dirtyMapError ?? ''), 20_000), 'status reports the dirty map error');
  const another = await rawWrite(rig.primary.summary, (50 * extentBytes) / BLOCK, 1);
  t.equal(another.key, 0x4, 'every write needing a new mark fails while the file is unwritable');

  t.ok(chattr('-i', mapFile), 'the file is writable again');
  const good = await rawWrite(rig.primary.summary, lba, 8);
  t.equal(good.status, 0, 'the same write now succeeds');
  t.ok(await waitFor(async () => (await rig.report())?.status?.dirtyMapError === undefined, 20_000), 'and status no longer reports an error');
  const map = await onDisk(mapFile, rig.dir);
  t.not(map.pendingEpoch((lba * BLOCK) / grainBytes), undefined, 'the write answered GOOD is marked on disk');
  t.equal(map.pendingEpoch((50 * extentBytes) / grainBytes), undefined, 'the refused one left no mark (nothing was written there)');
  await map.close();
});
