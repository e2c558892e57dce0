/**
 * Epoch payload on the wire: msgpackr of the extents, stored in its own binary Redis key (never in
 * BullMQ job data, which is JSON). Decoded data buffers are views into the payload (no copy).
 */
import { Packr } from 'msgpackr';
import type { Extent } from '../capture/open-epoch.ts';

const packr = new Packr({ useRecords: false });
const VERSION = 1;

interface WirePayload {
  v: number;
  /** [offset, data] for writes, [offset, null, length] for zero/unmapped ranges. */
  x: Array<[number, Buffer | null, number?]>;
}

export function encodePayload(extents: readonly Extent[]): Buffer {
  const wire: WirePayload = {
    v: VERSION,
    x: extents.map((e) => (e.data ? [e.offset, e.data] : [e.offset, null, e.zeroLength ?? 0])),
  };
  return packr.pack(wire);
}

/** Throws on anything that is not a well-formed payload (the caller treats that as a lost epoch). */
export function decodePayload(bytes: Buffer): Extent[] {
  const wire = packr.unpack(bytes) as Partial<WirePayload> | null;
  if (!wire || wire.v !== VERSION || !Array.isArray(wire.x)) throw new Error('malformed epoch payload');
  return wire.x.map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'number' || !Number.isSafeInteger(entry[0]) || entry[0] < 0) {
      throw new Error('malformed extent in epoch payload');
    }
    const [offset, data, zeroLength] = entry;
    if (data instanceof Uint8Array) return { offset, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
    if (data === null && typeof zeroLength === 'number' && Number.isSafeInteger(zeroLength) && zeroLength >= 0) return { offset, zeroLength };
    throw new Error('malformed extent in epoch payload');
  });
}
