import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fileLocksAvailable, FileLockedError, lockExclusive, lockHolder, lockStateDir } from '../../../src/storage/file-lock.ts';
import { SparseFileBackstore } from '../../../src/storage/sparse-file-backstore.ts';
import { waitFor } from '../../support/wait-for.ts';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'file-lock-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('locks are enforced on this platform', async (t) => {
  t.ok(fileLocksAvailable(), 'flock through koffi is available (Linux)');
});

t.test('a LUN file open in one backstore cannot be opened by a second; closing releases it', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'lun.img');
  const first = await SparseFileBackstore.open({ path, sizeBytes: 1 << 20 });
  const error = await SparseFileBackstore.open({ path, sizeBytes: 1 << 20 }).catch((e: unknown) => e);
  t.type(error, FileLockedError);
  t.equal((error as FileLockedError).holderPid, process.pid, 'the holder is named from /proc/locks');
  t.match((error as Error).message, `LUN file ${path} is in use by process ${process.pid}`);
  await first.close();
  const again = await SparseFileBackstore.open({ path, sizeBytes: 1 << 20 });
  await again.close();
});

t.test('a state dir lock holds our PID and refuses a second holder', async (t) => {
  const dir = await tempDir(t);
  const lock = await lockStateDir(dir);
  t.equal((await readFile(lock.path, 'utf8')).trim(), String(process.pid), 'the lock file names the holder');
  const error = await lockStateDir(dir).catch((e: unknown) => e);
  t.type(error, FileLockedError);
  t.match((error as Error).message, `state dir ${dir} is in use by process ${process.pid}`);
  await lock.release();
  const again = await lockStateDir(dir);
  await again.release();
});

t.test('the holder is another process: its PID is named, and its death frees the lock', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'held');
  await (await open(path, 'w')).close();
  // --close: only flock(1) itself holds the lock, not the `cat` it runs (which ends with its stdin).
  const holder = spawn('flock', ['--exclusive', '--close', path, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => { holder.kill('SIGKILL'); holder.stdin.end(); });
  await waitFor(async () => (await lockHolder(path)) !== undefined, 10_000);
  const holderPid = await lockHolder(path);
  t.ok(holderPid !== undefined, `holder found in /proc/locks (${holderPid})`);
  const handle = await open(path, 'r+');
  t.teardown(() => handle.close());
  const error = await lockExclusive(handle.fd, path, 'file').catch((e: unknown) => e);
  t.type(error, FileLockedError);
  t.equal((error as FileLockedError).holderPid, holderPid);
  const gone = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await gone;
  await lockExclusive(handle.fd, path, 'file');
  t.pass('the lock is free once its holder was killed');
});
