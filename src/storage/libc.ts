/**
 * libc through koffi (prebuilt FFI), loaded once for the storage layer's native calls
 * (native-file-ops.ts, cached-read.ts). undefined where it is unavailable (not Linux, no koffi,
 * no libc.so.6): callers then take their fallbacks.
 */
import { createRequire } from 'node:module';

type Koffi = typeof import('koffi');

export interface Libc {
  readonly koffi: Koffi;
  readonly lib: ReturnType<Koffi['load']>;
}

let loaded: Libc | null | undefined;

export function loadLibc(): Libc | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (process.platform === 'linux') {
      try {
        const koffi = createRequire(import.meta.url)('koffi') as Koffi;
        loaded = { koffi, lib: koffi.load('libc.so.6') };
      } catch {
        loaded = null;
      }
    }
  }
  return loaded ?? undefined;
}
