/**
 * The shipping side of one resync (or initial sync), once its generation is announced: the initial
 * sync's holes first (unmapped on the replica, no bytes travel), then passes over the grains waiting
 * for a resync until a pass finds none. Grains marked while a pass ran (operator resync, hand-over) get
 * another pass; each pass takes only what is marked when it starts, so this ends once nobody marks more.
 */
import type { Backstore } from '../../storage/backstore.ts';
import type { DirtyMap } from '../capture/dirty-map.ts';
import type { Extent } from '../capture/open-epoch.ts';
import { encodePayload } from '../pipeline/payload.ts';
import { holeExtents } from '../sync/initial-sync.ts';
import { runResync } from '../sync/resync.ts';
import type { ResyncProgress } from './shipping-ledger.ts';

export interface ResyncPassesContext {
  readonly backstore: Backstore;
  readonly dirty: DirtyMap;
  readonly chunkBytes: number;
  /** Counts the grains of later passes into the total. */
  readonly progress: ResyncProgress;
  reserveEpoch(): number;
  /** Ships one epoch of the current generation; `resyncGrains` is what it carries of the resync. */
  ship(epoch: number, payload: Buffer, firstWriteAt: number, resyncGrains: number): Promise<void>;
  waitForRoom(): Promise<void>;
  cancelled(): boolean;
}

/**
 * Ships `grains` (and, with `holes`, the source's holes first), then every later pass. Returns the
 * last epoch shipped (0 when none), undefined when the resync was cancelled.
 */
export async function runResyncPasses(context: ResyncPassesContext, grains: readonly number[], holes: boolean): Promise<number | undefined> {
  const { dirty, progress } = context;
  let lastEpoch = holes ? await shipHoles(context) : 0;
  // A resync epoch carries writes as old as the oldest grain waiting when its pass started (RPO).
  let passSince = dirty.resyncSince ?? Date.now();
  const resync = {
    backstore: context.backstore,
    dirty,
    chunkBytes: context.chunkBytes,
    reserveEpoch: () => context.reserveEpoch(),
    shipEpoch: (epoch: number, extents: Extent[], grainCount: number) => context.ship(epoch, encodePayload(extents), passSince, grainCount),
    waitForRoom: () => context.waitForRoom(),
    cancelled: () => context.cancelled(),
  };
  for (let pass = grains; pass.length > 0; pass = dirty.grainsNeedingResync()) {
    if (pass !== grains) progress.totalGrains += pass.length;
    passSince = dirty.resyncSince ?? Date.now();
    const result = await runResync(resync, pass);
    if (!result.completed) return undefined;
    lastEpoch = Math.max(lastEpoch, result.lastEpoch);
  }
  return lastEpoch;
}

/** Initial sync: ranges that are holes on the source are unmapped on the replica (no bytes travel). */
async function shipHoles(context: ResyncPassesContext): Promise<number> {
  const holes = await holeExtents(context.backstore);
  if (holes.length === 0) return 0;
  const epoch = context.reserveEpoch();
  await context.ship(epoch, encodePayload(holes), Date.now(), 0);
  return epoch;
}
