/**
 * The two file operations Node's fs lacks, called in libc through koffi (prebuilt FFI) on koffi's
 * worker threads so the event loop never blocks: fallocate(FALLOC_FL_PUNCH_HOLE) and
 * lseek(SEEK_DATA / SEEK_HOLE). When libc or the call is unavailable, callers fall back (zero-fill,
 * "all mapped") — `nativeFileOpsAvailable` says which.
 */
import { loadLibc } from './libc.ts';

// linux/falloc.h: PUNCH_HOLE must be combined with KEEP_SIZE.
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
// unistd.h (Linux)
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

type AsyncCall = (...args: unknown[]) => void;
interface NativeCalls {
  fallocate: { async: AsyncCall };
  lseek: { async: AsyncCall };
}

function loadNative(): NativeCalls | undefined {
  const libc = loadLibc()?.lib;
  if (!libc) return undefined;
  try {
    return {
      fallocate: libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)') as unknown as NativeCalls['fallocate'],
      lseek: libc.func('int64_t lseek(int fd, int64_t offset, int whence)') as unknown as NativeCalls['lseek'],
    };
  } catch {
    return undefined;
  }
}

const native = loadNative();

export const nativeFileOpsAvailable = native !== undefined;

function call(fn: { async: AsyncCall }, args: readonly number[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (error: unknown, result: number | bigint) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(Number(result));
    });
  });
}

/** Deallocates [offset, offset+length) keeping the file size; false when the file system refuses. */
export async function punchHole(fd: number, offset: number, length: number): Promise<boolean> {
  if (!native || length <= 0) return false;
  const result = await call(native.fallocate, [fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length]);
  return result === 0;
}

/**
 * lseek(SEEK_DATA/SEEK_HOLE) from `offset`: the next data / hole start, or -1 when there is none
 * before end of file (ENXIO). undefined when unsupported.
 */
export async function seekDataOrHole(fd: number, offset: number, what: 'data' | 'hole'): Promise<number | undefined> {
  if (!native) return undefined;
  return call(native.lseek, [fd, offset, what === 'data' ? SEEK_DATA : SEEK_HOLE]);
}
