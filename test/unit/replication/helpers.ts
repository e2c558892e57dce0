/** Shared test helpers for the replication tests (not a test file: tap skips it). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ObservedBackstore } from '../../../src/storage/observed-backstore.ts';
import { SparseFileBackstore } from '../../../src/storage/sparse-file-backstore.ts';
import type { Backstore } from '../../../src/storage/backstore.ts';
import { freeLoopbackPortRange } from '../../../src/lab/embedded-redis.ts';

export interface TapLike { teardown(fn: () => unknown): void }

export async function tempDir(t: TapLike, prefix = 'iscsi-sim-repl-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A sparse file wrapped for change capture, as the system opens a file LUN. */
export async function fileBackstore(t: TapLike, dir: string, name: string, sizeBytes: number): Promise<ObservedBackstore<SparseFileBackstore>> {
  const backstore = new ObservedBackstore(await SparseFileBackstore.open({ path: join(dir, name), sizeBytes, blockSize: 512 }));
  t.teardown(() => backstore.close().catch(() => undefined));
  return backstore;
}

export async function sha256Of(backstore: Backstore): Promise<string> {
  const hash = createHash('sha256');
  const step = 1024 * 1024;
  for (let offset = 0; offset < backstore.sizeBytes; offset += step) {
    hash.update(await backstore.read(offset, Math.min(step, backstore.sizeBytes - offset)));
  }
  return hash.digest('hex');
}

export function pattern(length: number, seed: number): Buffer {
  const data = randomBytes(length);
  data[0] = seed & 0xff;
  return data;
}

export { waitFor } from '../../support/wait-for.ts';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** A base port N such that N..N+7 (the lab's ports) are all free on 127.0.0.1 right now. */
export function freeLabBasePort(): Promise<number> {
  return freeLoopbackPortRange(8);
}
