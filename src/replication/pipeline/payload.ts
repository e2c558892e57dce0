/**
 * Epoch payload on the wire, stored in its own binary Redis key (never in BullMQ job data, which is
 * JSON). Layout: [data region][msgpack header][u32 BE header length]. The header lists
 * [offset, dataStart, length] for writes and [offset, -1, length] for zero (unmapped) ranges. Putting
 * the header last lets an epoch's slab become the payload without copying its data again.
 * Decoded data buffers are views into the payload.
 */
import { Packr } from 'msgpackr';
import type { Extent } from '../capture/open-epoch.ts';

const packr = new Packr({ useRecords: false });
const VERSION = 2;
const TRAILER = 4;

type WireExtent = [number, number, number];

/** An online-verify request riding on an (empty) epoch: digest the replica once this epoch is applied. */
export interface VerifyRequest {
  readonly id: string;
  readonly chunkBytes: number;
}

interface WireHeader {
  v: number;
  x: WireExtent[];
  verify?: VerifyRequest;
}

/** Encodes extents whose data are views into `slab` in place (header written after `slabUsed`). */
export function encodeSlabPayload(extents: readonly Extent[], slab: Buffer, slabUsed: number): Buffer {
  const inside = extents.every((e) => !e.data
    || (e.data.buffer === slab.buffer && e.data.byteOffset >= slab.byteOffset && e.data.byteOffset + e.data.length <= slab.byteOffset + slabUsed));
  if (!inside) return encodePayload(extents);
  const header = packr.pack({
    v: VERSION,
    x: extents.map((e): WireExtent => (e.data ? [e.offset, e.data.byteOffset - slab.byteOffset, e.data.length] : [e.offset, -1, e.zeroLength ?? 0])),
  } satisfies WireHeader);
  if (slab.length - slabUsed < header.length + TRAILER) return encodePayload(extents);
  header.copy(slab, slabUsed);
  slab.writeUInt32BE(header.length, slabUsed + header.length);
  return slab.subarray(0, slabUsed + header.length + TRAILER);
}

/** Encodes any extents (one copy of their data). */
export function encodePayload(extents: readonly Extent[], verify?: VerifyRequest): Buffer {
  let dataBytes = 0;
  for (const e of extents) dataBytes += e.data?.length ?? 0;
  const wire: WireExtent[] = [];
  const data = Buffer.allocUnsafe(dataBytes);
  let at = 0;
  for (const e of extents) {
    if (e.data) { e.data.copy(data, at); wire.push([e.offset, at, e.data.length]); at += e.data.length; }
    else wire.push([e.offset, -1, e.zeroLength ?? 0]);
  }
  const header = packr.pack({ v: VERSION, x: wire, ...(verify ? { verify } : {}) } satisfies WireHeader);
  const trailer = Buffer.alloc(TRAILER);
  trailer.writeUInt32BE(header.length, 0);
  return Buffer.concat([data, header, trailer]);
}

function decodeHeader(bytes: Buffer): { header: WireHeader; dataLength: number } {
  if (bytes.length < TRAILER) throw new Error('epoch payload too short');
  const headerLength = bytes.readUInt32BE(bytes.length - TRAILER);
  const dataLength = bytes.length - TRAILER - headerLength;
  if (dataLength < 0) throw new Error('malformed epoch payload header length');
  const header = packr.unpack(bytes.subarray(dataLength, dataLength + headerLength)) as Partial<WireHeader> | null;
  if (!header || header.v !== VERSION || !Array.isArray(header.x)) throw new Error('malformed epoch payload');
  return { header: header as WireHeader, dataLength };
}

/** The verify request an epoch carries, if any (malformed ones are ignored). */
export function payloadVerifyRequest(bytes: Buffer): VerifyRequest | undefined {
  try {
    const { verify } = decodeHeader(bytes).header;
    if (verify && typeof verify.id === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(verify.id) && isCount(verify.chunkBytes) && verify.chunkBytes >= 4096) return verify;
  } catch {
    // decodePayload reports malformed payloads
  }
  return undefined;
}

/** Throws on anything that is not a well-formed payload (the caller treats that as a lost epoch). */
export function decodePayload(bytes: Buffer): Extent[] {
  const { header, dataLength } = decodeHeader(bytes);
  return header.x.map((entry) => {
    const [offset, start, length] = Array.isArray(entry) ? entry : [];
    if (!isCount(offset) || !isCount(length) || typeof start !== 'number' || !Number.isSafeInteger(start)) throw new Error('malformed extent in epoch payload');
    if (start === -1) return { offset, zeroLength: length };
    if (start < 0 || start + length > dataLength) throw new Error('extent outside the epoch payload');
    return { offset, data: bytes.subarray(start, start + length) };
  });
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
