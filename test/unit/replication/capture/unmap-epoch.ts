/** A change-capture check shared by the file and memory LUN tests (not a test file: tap skips it). */
import type { Test } from 'tap';
import type { ChangeCapture } from '../../../../src/replication/capture/change-capture.ts';
import type { SealedEpoch } from '../../../../src/replication/capture/open-epoch.ts';
import type { Backstore } from '../../../../src/storage/backstore.ts';

/**
 * In a new generation, 8 KiB written at 0 and then [4096, 4096 + unmapped) UNMAPped seal as one epoch:
 * the 4 KiB still written as data, the UNMAP as a deallocation range (not zero bytes).
 */
export async function expectUnmapAsDeallocation(t: Test, backstore: Backstore, capture: ChangeCapture, sealed: readonly SealedEpoch[], unmapped: number): Promise<void> {
  capture.startGeneration();
  await backstore.write(0, [Buffer.alloc(8192, 1)], { fua: false });
  await backstore.unmap(4096, unmapped);
  await backstore.flush();
  t.equal(sealed.length, 1);
  t.same(sealed[0].extents.map((e) => [e.offset, e.data?.length, e.zeroLength]), [[0, 4096, undefined], [4096, undefined, unmapped]]);
}
