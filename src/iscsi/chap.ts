/**
 * CHAP for iSCSI login (RFC 7143 §12.1.3, RFC 1994): CHAP_A algorithm choice, challenge, response
 * check, and the target's answer for mutual CHAP. Values travel as 0x-hex or 0b-base64 (§6.1).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** CHAP_A identifiers (IANA PPP authentication algorithms) to node:crypto hash names. */
const ALGORITHMS = new Map<number, string>([
  [5, 'md5'],
  [6, 'sha1'],
  [7, 'sha256'],
  [8, 'sha3-256'],
]);

/**
 * The first algorithm of the initiator's CHAP_A list that we support. Each item must be a whole
 * decimal number: `56` or `5x` is not MD5 (5), and an empty list offers nothing.
 */
export function pickAlgorithm(offer: string): number | undefined {
  for (const item of offer.split(',')) {
    if (!/^[0-9]{1,3}$/.test(item)) continue;
    const id = Number.parseInt(item, 10);
    if (ALGORITHMS.has(id)) return id;
  }
  return undefined;
}

export function digestLength(algorithm: number): number {
  return createHash(ALGORITHMS.get(algorithm) ?? 'md5').digest().length;
}

export function chapResponse(algorithm: number, id: number, secret: string, challenge: Buffer): Buffer {
  const hash = createHash(ALGORITHMS.get(algorithm) ?? 'md5');
  hash.update(Buffer.from([id & 0xff]));
  hash.update(Buffer.from(secret, 'utf8'));
  hash.update(challenge);
  return hash.digest();
}

/** Decodes a CHAP binary value (0x hex or 0b base64); undefined when malformed. */
export function decodeBinary(value: string): Buffer | undefined {
  if (/^0[xX]([0-9a-fA-F]{2})+$/.test(value)) return Buffer.from(value.slice(2), 'hex');
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) return Buffer.from(`0${value.slice(2)}`, 'hex');
  if (/^0[bB][A-Za-z0-9+/]+=*$/.test(value)) return Buffer.from(value.slice(2), 'base64');
  return undefined;
}

export function encodeHex(value: Buffer): string {
  return `0x${value.toString('hex')}`;
}

export interface ChapChallenge {
  readonly algorithm: number;
  readonly id: number;
  readonly challenge: Buffer;
}

export function newChallenge(algorithm: number): ChapChallenge {
  return { algorithm, id: randomBytes(1)[0], challenge: randomBytes(Math.max(16, digestLength(algorithm))) };
}

export function verifyResponse(expected: ChapChallenge, secret: string, response: Buffer): boolean {
  const want = chapResponse(expected.algorithm, expected.id, secret, expected.challenge);
  return want.length === response.length && timingSafeEqual(want, response);
}
