/**
 * SANITIZE (SBC-4 §5.30) on an LU configured for it: OVERWRITE (the initialization pattern in every
 * block), BLOCK ERASE (every block deallocated; offered on a thin LU only, as libiscsi and SBC-4 tie it
 * to LBPME), CRYPTO ERASE (the key is gone, so is the data: every block deallocated, reading as zeros),
 * and EXIT FAILURE MODE. The operation runs in the LU's Sanitizer, beyond the command: IMMED=1 returns
 * at once, IMMED=0 when the operation has ended.
 */
import { u16 } from '../cdb.ts';
import { dataOutBuffer } from '../data-out.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, good, type OpcodeDescriptor, type ParsedCommand } from '../opcode.ts';
import { invalidCdbField, invalidParameterField, type SenseFailure } from '../sense.ts';
import type { SanitizeWork } from './sanitizer.ts';

export const SANITIZE_OPCODE = 0x48;
const OVERWRITE = 0x01;
const BLOCK_ERASE = 0x02;
const CRYPTO_ERASE = 0x03;
const EXIT_FAILURE_MODE = 0x1f;

/** Bytes written per backstore call while overwriting; bytes deallocated per call while erasing. */
const OVERWRITE_PIECE_BYTES = 1024 * 1024;
const ERASE_PIECE_BYTES = 64 * 1024 * 1024;

interface Cdb {
  readonly immediate: boolean;
  readonly ause: boolean;
  readonly parameterListLength: number;
}

/** Byte 1 bit 6 and bytes 2-6 are reserved (libiscsi's *_reserved tests set each). */
function decode(cdb: Buffer): Cdb | SenseFailure {
  if ((cdb[1] & 0x40) !== 0) return invalidCdbField(1, 6);
  for (let byte = 2; byte <= 6; byte++) if (cdb[byte] !== 0) return invalidCdbField(byte);
  return { immediate: (cdb[1] & 0x80) !== 0, ause: (cdb[1] & 0x20) !== 0, parameterListLength: u16(cdb, 7) };
}

function isFailure(value: Cdb | SenseFailure): value is SenseFailure {
  return 'kind' in value;
}

/** Starts `work` on the LU's sanitizer; IMMED=0 waits for the end of the operation. */
async function sanitize(unit: LogicalUnit, cdb: Cdb, work: SanitizeWork) {
  const finished = unit.sanitizer!.start(work, cdb.ause);
  if (cdb.immediate) return good();
  return (await finished) ?? good();
}

function eraseAll(unit: LogicalUnit): SanitizeWork {
  return async (progress) => {
    const size = unit.backstore.sizeBytes;
    for (let offset = 0; offset < size; offset += ERASE_PIECE_BYTES) {
      await unit.backstore.unmap(offset, Math.min(ERASE_PIECE_BYTES, size - offset));
      progress((offset + ERASE_PIECE_BYTES) / size);
    }
    await unit.backstore.flush();
  };
}

/**
 * What every block holds after the last pass: the pattern repeated to the block's length, inverted
 * when INVERT is set and the pass count is even (each pass inverts the previous one's). Earlier passes
 * leave nothing an initiator can read, so only the last is written.
 */
export function overwriteBlock(pattern: Buffer, blockSize: number, invert: boolean, passes: number): Buffer {
  const block = Buffer.alloc(blockSize).fill(pattern);
  if (invert && passes % 2 === 0) for (let i = 0; i < block.length; i++) block[i] ^= 0xff;
  return block;
}

function overwriteAll(unit: LogicalUnit, block: Buffer): SanitizeWork {
  // All zeros on a thin LU: deallocated blocks read as zeros (LBPRZ), and the file stays sparse.
  if (unit.thinProvisioning && block.every((byte) => byte === 0)) return eraseAll(unit);
  return async (progress) => {
    const size = unit.backstore.sizeBytes;
    const piece = Buffer.alloc(Math.min(OVERWRITE_PIECE_BYTES, size)).fill(block);
    for (let offset = 0; offset < size; offset += piece.length) {
      const length = Math.min(piece.length, size - offset);
      await unit.backstore.write(offset, [piece.subarray(0, length)], { fua: false });
      progress((offset + length) / size);
    }
    await unit.backstore.flush();
  };
}

/** OVERWRITE parameter list (SBC-4 §5.30.3): INVERT, TEST, OVERWRITE COUNT, pattern length, pattern. */
function parseOverwrite(cdb: Buffer, unit: LogicalUnit | undefined): ParsedCommand | SenseFailure {
  const decoded = decode(cdb);
  if (isFailure(decoded)) return decoded;
  const blockSize = unit?.blockSize ?? 512;
  const length = decoded.parameterListLength;
  // A header (4 bytes) and a pattern of 1 .. one block.
  if (length < 5 || length > blockSize + 4) return invalidCdbField(7);
  return {
    dataOutBytes: length,
    writesMedium: true,
    run({ unit, command }) {
      const list = dataOutBuffer(command, length);
      const invert = (list[0] & 0x80) !== 0;
      const test = (list[0] >> 5) & 0x03;
      const passes = list[0] & 0x1f;
      if (test !== 0) return invalidParameterField(0, 6);
      if (passes === 0) return invalidParameterField(0, 4);
      const patternLength = list.readUInt16BE(2);
      if (patternLength === 0 || patternLength > unit.blockSize || patternLength !== length - 4) return invalidParameterField(2);
      const block = overwriteBlock(list.subarray(4, 4 + patternLength), unit.blockSize, invert, passes);
      return sanitize(unit, decoded, overwriteAll(unit, block));
    },
  };
}

function parseErase(cdb: Buffer): ParsedCommand | SenseFailure {
  const decoded = decode(cdb);
  if (isFailure(decoded)) return decoded;
  if (decoded.parameterListLength !== 0) return invalidCdbField(7);
  return { writesMedium: true, run: ({ unit }) => sanitize(unit, decoded, eraseAll(unit)) };
}

function parseExitFailureMode(cdb: Buffer): ParsedCommand | SenseFailure {
  const decoded = decode(cdb);
  if (isFailure(decoded)) return decoded;
  if (decoded.parameterListLength !== 0) return invalidCdbField(7);
  return {
    run({ unit }) {
      // A failed operation started with AUSE=0 may only be left by a sanitize that succeeds.
      return unit.sanitizer!.exitFailureMode() ? good() : invalidCdbField(1, 5);
    },
  };
}

const offered = (unit: LogicalUnit): boolean => unit.sanitizer !== undefined;
const usage = (serviceAction: number): number[] => [SANITIZE_OPCODE, 0xa0 | serviceAction, 0, 0, 0, 0, 0, 0xff, 0xff, 0x00];

export const sanitizeOpcodes: readonly OpcodeDescriptor[] = [
  defineOpcode({
    name: 'SANITIZE / OVERWRITE', opcode: SANITIZE_OPCODE, serviceAction: OVERWRITE, cdbLength: 10, usageBits: usage(OVERWRITE),
    offeredBy: offered, parse: parseOverwrite,
  }),
  defineOpcode({
    name: 'SANITIZE / BLOCK ERASE', opcode: SANITIZE_OPCODE, serviceAction: BLOCK_ERASE, cdbLength: 10, usageBits: usage(BLOCK_ERASE),
    offeredBy: (unit) => offered(unit) && unit.thinProvisioning, parse: parseErase,
  }),
  defineOpcode({
    name: 'SANITIZE / CRYPTO ERASE', opcode: SANITIZE_OPCODE, serviceAction: CRYPTO_ERASE, cdbLength: 10, usageBits: usage(CRYPTO_ERASE),
    offeredBy: offered, parse: parseErase,
  }),
  defineOpcode({
    name: 'SANITIZE / EXIT FAILURE MODE', opcode: SANITIZE_OPCODE, serviceAction: EXIT_FAILURE_MODE, cdbLength: 10, usageBits: usage(EXIT_FAILURE_MODE),
    offeredBy: offered, parse: parseExitFailureMode,
  }),
];
