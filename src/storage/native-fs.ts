/**
 * The two file-system calls Node's fs lacks, through koffi (an FFI package shipping prebuilt
 * binaries): fallocate(PUNCH_HOLE) to deallocate a range, and lseek(SEEK_DATA/SEEK_HOLE) to map a
 * sparse file's allocation. Where libc or the file system does not offer them the functions report
 * "unsupported" and callers fall back (zero-fill, one mapped extent) and say so.
 */
import koffi, { type LibraryHandle } from 'koffi';

type KoffiFunction = ReturnType<LibraryHandle['func']>;

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

interface LibcCalls {
  fallocate: KoffiFunction;
  lseek: KoffiFunction;
  errno: () => number;
}

let libc: LibcCalls | null | undefined;

function load(): LibcCalls | null {
  if (libc !== undefined) return libc;
  try {
    if (process.platform !== 'linux') throw new Error('not linux');
    const lib = koffi.load('libc.so.6');
    const errnoLocation = lib.func('int *__errno_location(void)');
    libc = {
      fallocate: lib.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)'),
      lseek: lib.func('int64_t lseek(int fd, int64_t offset, int whence)'),
      errno: () => koffi.decode(errnoLocation(), 'int') as number,
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** Whether hole punching and hole seeking are available on this platform at all. */
export function nativeSparseSupport(): boolean {
  return load() !== null;
}

/**
 * Deallocates [offset, offset+length) of the open file, keeping its size. Resolves false when the
 * platform or file system cannot punch holes (the caller then zero-fills). Runs on koffi's worker
 * thread so a slow file system never blocks the event loop.
 */
export function punchHole(fd: number, offset: number, length: number): Promise<boolean> {
  const calls = load();
  if (!calls) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    calls.fallocate.async(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length, (err: unknown, rc: number) => {
      if (err) reject(err);
      else resolve(rc === 0);
    });
  });
}

/**
 * The next data (or hole) offset at or after `offset`, or undefined past the last data (ENXIO).
 * Returns null when SEEK_DATA/SEEK_HOLE are unsupported.
 */
export function seek(fd: number, offset: number, what: 'data' | 'hole'): number | undefined | null {
  const calls = load();
  if (!calls) return null;
  const result = Number(calls.lseek(fd, offset, what === 'data' ? SEEK_DATA : SEEK_HOLE));
  if (result >= 0) return result;
  return calls.errno() === ENXIO ? undefined : null;
}
