/**
 * Exclusive OS locks on state dirs and LUN files: flock(2) (LOCK_EX | LOCK_NB) through koffi on an open
 * file description, so the kernel drops the lock when the holder exits, however it exits. A second
 * process gets FileLockedError naming the holder's PID, read from /proc/locks (the kernel's own record)
 * or, for a state-dir lock file, from the PID the holder wrote into it.
 */
import { constants, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { loadLibc } from './libc.ts';

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

export class FileLockedError extends Error {
  constructor(readonly path: string, readonly what: string, readonly holderPid: number | undefined) {
    super(`${what} ${path} is in use by ${holderPid === undefined ? 'another process' : `process ${holderPid}`}`);
    this.name = 'FileLockedError';
  }

  /** "process 4242" or "another process" (for messages that already name the file). */
  get holder(): string {
    return this.holderPid === undefined ? 'another process' : `process ${this.holderPid}`;
  }
}

type FlockCall = (fd: number, operation: number) => number;

let flockCall: FlockCall | null | undefined;

function nativeFlock(): FlockCall | undefined {
  if (flockCall === undefined) {
    flockCall = null;
    const libc = loadLibc();
    if (libc) {
      try {
        flockCall = libc.lib.func('int flock(int fd, int operation)') as unknown as FlockCall;
      } catch {
        flockCall = null;
      }
    }
  }
  return flockCall ?? undefined;
}

/** Whether locks are enforced on this platform (Linux with koffi). Elsewhere lockExclusive is a no-op. */
export const fileLocksAvailable = (): boolean => nativeFlock() !== undefined;

/**
 * Takes an exclusive lock on the open file `fd` (held until that descriptor is closed) or throws
 * FileLockedError naming the holder. `what` names the thing for the message ("LUN file", "state dir").
 */
export async function lockExclusive(fd: number, path: string, what: string): Promise<void> {
  const flock = nativeFlock();
  if (!flock) return;
  if (flock(fd, LOCK_EX | LOCK_NB) === 0) return;
  const errno = loadLibc()!.koffi.errno();
  if (errno !== EWOULDBLOCK) throw new Error(`cannot lock ${what} ${path}: flock failed (errno ${errno})`);
  throw new FileLockedError(path, what, await lockHolder(path));
}

/** The PID holding a flock on `path`, from /proc/locks (device and inode), if it can be told. */
export async function lockHolder(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path, { bigint: true });
    // glibc's dev_t encoding (gnu_dev_major/minor); /proc/locks prints them as %02x:%02x.
    const major = ((info.dev >> 8n) & 0xfffn) | ((info.dev >> 32n) & ~0xfffn);
    const minor = (info.dev & 0xffn) | ((info.dev >> 12n) & ~0xffn);
    const device = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${info.ino}`;
    for (const line of (await readFile('/proc/locks', 'utf8')).split('\n')) {
      // "1: FLOCK  ADVISORY  WRITE 5578 fe:00:2146901 0 EOF"
      const fields = line.trim().split(/\s+/);
      if (fields[1] === 'FLOCK' && fields[5] === device) {
        const pid = Number(fields[4]);
        if (Number.isInteger(pid) && pid > 0) return pid;
      }
    }
  } catch {
    // fall through: no /proc, or the file vanished
  }
  return undefined;
}

export interface StateDirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** The lock file a lab or serve holds in its state dir. */
export const STATE_DIR_LOCK_FILE = 'iscsi-sim.lock';

/**
 * Locks `dir` (which must exist) for this process: `<dir>/iscsi-sim.lock` held with flock and holding our
 * PID. Throws FileLockedError naming the holder when another process has it.
 */
export async function lockStateDir(dir: string): Promise<StateDirLock> {
  const path = join(dir, STATE_DIR_LOCK_FILE);
  const handle: FileHandle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    await lockExclusive(handle.fd, dir, 'state dir');
  } catch (error) {
    await handle.close();
    if (error instanceof FileLockedError && error.holderPid === undefined) {
      const written = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(written) && written > 0) throw new FileLockedError(dir, 'state dir', written);
    }
    throw error;
  }
  await handle.truncate(0);
  await handle.write(`${process.pid}\n`, 0);
  return {
    path,
    release: async () => { await handle.close(); },
  };
}
