/**
 * What an initial sync ships: every allocated range of the source as data (marked in the dirty map and
 * sent by the resync), every hole as a zero range (the replica unmaps it; no bytes travel).
 */
import type { Backstore } from '../../storage/backstore.ts';
import type { DirtyMap } from '../capture/dirty-map.ts';
import type { Extent } from '../capture/open-epoch.ts';

export async function markAllocated(backstore: Backstore, dirty: DirtyMap): Promise<void> {
  for (const extent of await backstore.allocation(0, backstore.sizeBytes)) {
    if (extent.mapped) await dirty.mark(extent.offset, extent.length, 0);
  }
}

export async function holeExtents(backstore: Backstore): Promise<Extent[]> {
  return (await backstore.allocation(0, backstore.sizeBytes))
    .filter((extent) => !extent.mapped)
    .map((extent) => ({ offset: extent.offset, zeroLength: extent.length }));
}
