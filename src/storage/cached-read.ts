/**
 * Reads served straight from the page cache on the event loop: preadv2(RWF_NOWAIT) through koffi
 * returns what is cached without ever sleeping on the disk (EAGAIN otherwise), so the caller only
 * pays the libuv thread pool's round trip (two thread wake-ups per I/O) when data must really come
 * from the device. The same technique QEMU and Samba use with io_uring. Where the call is missing
 * (not Linux, old kernel, no koffi) `readCached` reports 0 bytes and callers take the async path.
 */
import { type Libc, loadLibc } from './libc.ts';

type KoffiFunction = ReturnType<Libc['lib']['func']>;

// linux/fs.h
const RWF_NOWAIT = 0x08;
/** Above this a cached copy costs the event loop more than the thread pool round trip saves. */
export const MAX_CACHED_READ_BYTES = 1024 * 1024;

let preadv2: KoffiFunction | null | undefined;

function load(): KoffiFunction | null {
  if (preadv2 !== undefined) return preadv2;
  try {
    const libc = loadLibc();
    if (!libc) throw new Error('libc unavailable');
    libc.koffi.struct('iscsi_sim_iovec', { base: 'void *', len: 'size_t' });
    preadv2 = libc.lib.func('long preadv2(int fd, iscsi_sim_iovec *iov, int iovcnt, int64_t offset, int flags)');
  } catch {
    preadv2 = null;
  }
  return preadv2;
}

/**
 * Copies what the page cache holds of [offset, offset+target.length) into `target` without
 * blocking; returns the bytes read from the start (0 when nothing was cached, the call failed or is
 * unsupported). A short count means the rest must be read the slow way.
 */
export function readCached(fd: number, target: Buffer, offset: number): number {
  if (target.length === 0 || target.length > MAX_CACHED_READ_BYTES) return 0;
  const call = load();
  if (!call) return 0;
  try {
    const result = Number(call(fd, [{ base: target, len: target.length }], 1, offset, RWF_NOWAIT));
    return result > 0 ? result : 0;
  } catch {
    preadv2 = null; // a marshalling failure will not go away: stop trying
    return 0;
  }
}
