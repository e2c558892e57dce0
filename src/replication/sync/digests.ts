/**
 * Online verify: a digest per fixed-size chunk of a LUN (sha256; fully unmapped chunks get the digest
 * of zeros without reading). Both sides compute it at the same epoch boundary and compare.
 */
import { createHash } from 'node:crypto';
import type { Backstore } from '../../storage/backstore.ts';

const zeroDigests = new Map<number, string>();

function zeroDigest(length: number): string {
  let digest = zeroDigests.get(length);
  if (!digest) {
    digest = createHash('sha256').update(Buffer.alloc(length)).digest('hex');
    zeroDigests.set(length, digest);
  }
  return digest;
}

export async function chunkDigests(backstore: Backstore, chunkBytes: number): Promise<string[]> {
  const digests: string[] = [];
  const buffer = Buffer.allocUnsafe(chunkBytes);
  for (let offset = 0; offset < backstore.sizeBytes; offset += chunkBytes) {
    const length = Math.min(chunkBytes, backstore.sizeBytes - offset);
    const allocation = await backstore.allocation(offset, length);
    if (allocation.every((extent) => !extent.mapped)) { digests.push(zeroDigest(length)); continue; }
    const data = await backstore.read(offset, length, buffer.subarray(0, length));
    digests.push(createHash('sha256').update(data).digest('hex'));
  }
  return digests;
}
