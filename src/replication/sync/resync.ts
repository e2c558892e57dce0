/**
 * Incremental resync (and initial sync): ships the grains the dirty map says the replica lacks, read
 * from the source LUN, as ordinary epochs of the current generation. Each chunk reserves its epoch
 * number BEFORE reading, so a write racing with the read lands in a later epoch and wins on the replica.
 * Holes inside a chunk travel as zero ranges (the replica unmaps them), not as bytes.
 */
import type { Backstore } from '../../storage/backstore.ts';
import type { DirtyMap } from '../capture/dirty-map.ts';
import type { Extent } from '../capture/open-epoch.ts';

export interface ResyncContext {
  readonly backstore: Backstore;
  readonly dirty: DirtyMap;
  readonly chunkBytes: number;
  reserveEpoch(): number;
  /** Ships one epoch; rejects when the link is down (the resync stops, the pair goes ahead). */
  shipEpoch(epoch: number, extents: Extent[], grains: number): Promise<void>;
  /** Resolves when in-flight bytes are below the bound (or rejects when the pair gave up). */
  waitForRoom(): Promise<void>;
  cancelled(): boolean;
}

export interface ResyncResult {
  readonly epochs: number;
  readonly lastEpoch: number;
  readonly bytes: number;
  readonly completed: boolean;
}

/** Groups ascending grain numbers into runs of adjacent grains, at most `maxGrains` long. */
export function grainRuns(grains: readonly number[], maxGrains: number): Array<{ first: number; count: number }> {
  const runs: Array<{ first: number; count: number }> = [];
  for (const grain of grains) {
    const last = runs[runs.length - 1];
    if (last && last.first + last.count === grain && last.count < maxGrains) last.count++;
    else runs.push({ first: grain, count: 1 });
  }
  return runs;
}

export async function runResync(ctx: ResyncContext, grains: readonly number[]): Promise<ResyncResult> {
  const grainBytes = ctx.dirty.grainBytes;
  const maxGrains = Math.max(1, Math.floor(ctx.chunkBytes / grainBytes));
  let epochs = 0;
  let lastEpoch = 0;
  let bytes = 0;
  for (const run of grainRuns(grains, maxGrains)) {
    if (ctx.cancelled()) return { epochs, lastEpoch, bytes, completed: false };
    await ctx.waitForRoom();
    const offset = run.first * grainBytes;
    const length = Math.min(run.count * grainBytes, ctx.backstore.sizeBytes - offset);
    const epoch = ctx.reserveEpoch();
    const persisted = ctx.dirty.mark(offset, length, epoch);
    if (persisted) await persisted;
    const extents = await readExtents(ctx.backstore, offset, length);
    for (const extent of extents) bytes += extent.data?.length ?? 0;
    await ctx.shipEpoch(epoch, extents, run.count);
    epochs++;
    lastEpoch = epoch;
  }
  return { epochs, lastEpoch, bytes, completed: true };
}

async function readExtents(backstore: Backstore, offset: number, length: number): Promise<Extent[]> {
  const extents: Extent[] = [];
  for (const piece of await backstore.allocation(offset, length)) {
    const start = Math.max(piece.offset, offset);
    const end = Math.min(piece.offset + piece.length, offset + length);
    if (end <= start) continue;
    if (piece.mapped) extents.push({ offset: start, data: await backstore.read(start, end - start) });
    else extents.push({ offset: start, zeroLength: end - start });
  }
  return extents;
}
