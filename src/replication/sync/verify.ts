/**
 * Online verify (DRBD-style, at an epoch boundary): the source ships an empty epoch carrying a verify
 * request; the replica digests its LUN when it reaches that epoch (nothing later applied meanwhile)
 * and leaves the digests in the store; the source digests its own LUN and compares chunk by chunk.
 * Chunks written since the request are reported "in flux", not divergent.
 */
import { randomBytes } from 'node:crypto';
import type { Backstore } from '../../storage/backstore.ts';
import type { DirtyMap } from '../capture/dirty-map.ts';
import { pairKeys } from '../keys.ts';
import { encodePayload } from '../pipeline/payload.ts';
import type { KeyValueStore } from '../transport/transport.ts';
import { chunkDigests } from './digests.ts';

export interface VerifyOptions {
  /** @defaultValue 1 MiB */
  readonly chunkBytes?: number;
  /** Resync the divergent chunks afterwards. @defaultValue false */
  readonly repair?: boolean;
  /** @defaultValue 10 min */
  readonly timeoutMs?: number;
}

export interface VerifyReport {
  readonly chunkBytes: number;
  readonly chunks: number;
  readonly compared: number;
  readonly divergent: ReadonlyArray<{ readonly offset: number; readonly length: number }>;
  readonly inFlux: number;
  readonly repaired: boolean;
}

export interface VerifyContext {
  readonly pairId: string;
  readonly backstore: Backstore;
  readonly dirty: DirtyMap;
  readonly store: KeyValueStore;
  reserveEpoch(): number;
  shipEpoch(epoch: number, payload: Buffer): Promise<void>;
  resyncGrains(grains: readonly number[]): Promise<void>;
}

export async function verifyPair(ctx: VerifyContext, options: VerifyOptions = {}): Promise<VerifyReport> {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  if (chunkBytes % ctx.dirty.grainBytes !== 0 && ctx.dirty.grainBytes % chunkBytes !== 0) {
    throw new Error(`chunkBytes ${chunkBytes} must align with the ${ctx.dirty.grainBytes}-byte grain`);
  }
  const id = randomBytes(8).toString('hex');
  const touched = new Set<number>();
  ctx.dirty.observe(touched);
  let remote: string[] | undefined;
  let local: string[];
  try {
    await ctx.shipEpoch(ctx.reserveEpoch(), encodePayload([], { id, chunkBytes }));
    local = await chunkDigests(ctx.backstore, chunkBytes);
    const key = pairKeys(ctx.pairId).verifyDigests(id);
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    while (!remote && Date.now() < deadline) {
      const text = await ctx.store.get(key);
      if (text) remote = JSON.parse(text) as string[];
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await ctx.store.del(key).catch(() => undefined);
  } finally {
    ctx.dirty.observe(undefined);
  }
  if (!remote) throw new Error('the replica did not answer the verify request in time');
  const grainBytes = ctx.dirty.grainBytes;
  const divergent: Array<{ offset: number; length: number }> = [];
  const repairGrains: number[] = [];
  let inFlux = 0;
  for (let chunk = 0; chunk < local.length; chunk++) {
    const offset = chunk * chunkBytes;
    const length = Math.min(chunkBytes, ctx.backstore.sizeBytes - offset);
    const grains: number[] = [];
    for (let grain = Math.floor(offset / grainBytes); grain * grainBytes < offset + length; grain++) grains.push(grain);
    if (grains.some((grain) => touched.has(grain))) { inFlux++; continue; }
    if (local[chunk] === remote[chunk]) continue;
    divergent.push({ offset, length });
    repairGrains.push(...grains);
  }
  const repair = (options.repair ?? false) && repairGrains.length > 0;
  if (repair) await ctx.resyncGrains(repairGrains);
  return { chunkBytes, chunks: local.length, compared: local.length - inFlux, divergent, inFlux, repaired: repair };
}
