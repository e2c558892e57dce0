/** Helpers over the fabric's Data-Out chunks (views; never concatenated on the write path). */
import type { ScsiCommand } from './command.ts';

/** The first `bytes` bytes of Data-Out as views (extra bytes beyond the CDB's length are ignored). */
export function dataOutChunks(command: ScsiCommand, bytes: number): Buffer[] {
  const out: Buffer[] = [];
  let left = bytes;
  for (const chunk of command.dataOut) {
    if (left <= 0) break;
    out.push(chunk.length <= left ? chunk : chunk.subarray(0, left));
    left -= Math.min(chunk.length, left);
  }
  return out;
}

/** Small parameter lists (UNMAP, MODE SELECT, PR OUT): one contiguous copy is fine there. */
export function dataOutBuffer(command: ScsiCommand, bytes: number): Buffer {
  const chunks = dataOutChunks(command, bytes);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}
