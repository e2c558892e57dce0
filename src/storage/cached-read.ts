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
/**
 * Above this a cached copy costs the event loop more than the thread pool round trip saves. (32 KiB,
 * sending 64 KiB reads to the pool, doubled their throughput on a loaded machine but not on a quiet
 * one, and cost CPU on both: bench/RESULTS.md "Read path".)
 */
export const MAX_CACHED_READ_BYTES = 1024 * 1024;

interface PreadNowait {
  readonly call: KoffiFunction;
  readonly address: (buffer: Buffer) => bigint;
  /**
   * The one struct iovec every call passes (the event loop makes one call at a time), filled in
   * place: koffi marshalling a JS object { base, len } per call cost ~0.5 µs (property lookups by
   * name), a tenth of a whole 4 KiB READ's CPU.
   */
  readonly iov: Buffer;
  readonly iovBase: BigUint64Array;
  readonly iovLength: BigUint64Array;
}

let preadv2: PreadNowait | null | undefined;

function load(): PreadNowait | null {
  if (preadv2 !== undefined) return preadv2;
  try {
    const libc = loadLibc();
    if (!libc) throw new Error('libc unavailable');
    const iov = Buffer.allocUnsafeSlow(16); // struct iovec on LP64: void *iov_base; size_t iov_len
    preadv2 = {
      call: libc.lib.func('long preadv2(int fd, void *iov, int iovcnt, int64_t offset, int flags)'),
      address: (buffer) => libc.koffi.address(buffer),
      iov,
      iovBase: new BigUint64Array(iov.buffer, iov.byteOffset, 1),
      iovLength: new BigUint64Array(iov.buffer, iov.byteOffset + 8, 1),
    };
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
  const native = load();
  if (!native) return 0;
  try {
    // Nothing runs between filling the iovec and the call: `target`'s address stays valid.
    native.iovBase[0] = native.address(target);
    native.iovLength[0] = BigInt(target.length);
    const result = Number(native.call(fd, native.iov, 1, offset, RWF_NOWAIT));
    return result > 0 ? result : 0;
  } catch {
    preadv2 = null; // a marshalling failure will not go away: stop trying
    return 0;
  }
}
