/**
 * READ and WRITE (6/10/12/16), WRITE AND VERIFY (10/12/16) and VERIFY (10/12/16) — SBC-3 §5.
 * Parsing decodes LBA, length and flags; the target's shared check has already refused ranges
 * beyond the capacity and write-protected units before `run`.
 */
import type { PooledBuffer } from '../../storage/buffer-pool.ts';
import { lba21, u16, u32, u64 } from '../cdb.ts';
import type { ScsiResponse } from '../command.ts';
import { dataOutBuffer, dataOutChunks } from '../data-out.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, good, type ExecutionContext, type OpcodeDescriptor, type ParsedCommand } from '../opcode.ts';
import { invalidCdbField, senseFailure, type SenseFailure } from '../sense.ts';
import { MAX_TRANSFER_BYTES } from '../spc/vpd-pages.ts';

interface Decoded {
  readonly lba: number;
  readonly blocks: number;
  /** Byte 1 flags (absent for 6-byte CDBs). */
  readonly flags: number;
}

type Size = 6 | 10 | 12 | 16;

function decode(cdb: Buffer, size: Size): Decoded {
  switch (size) {
    case 6: return { lba: lba21(cdb), blocks: cdb[4] === 0 ? 256 : cdb[4], flags: 0 }; // SBC-3 §5.14: 0 means 256
    case 10: return { lba: u32(cdb, 2), blocks: u16(cdb, 7), flags: cdb[1] };
    case 12: return { lba: u32(cdb, 2), blocks: u32(cdb, 6), flags: cdb[1] };
    case 16: return { lba: u64(cdb, 2), blocks: u32(cdb, 10), flags: cdb[1] };
  }
}

const FUA = 0x08;

function checkTransfer(unit: LogicalUnit | undefined, blocks: number, lengthByte: number): SenseFailure | undefined {
  if (unit && blocks * unit.blockSize > MAX_TRANSFER_BYTES) return invalidCdbField(lengthByte);
  return undefined;
}

const LENGTH_BYTE: Record<Size, number> = { 6: 4, 10: 7, 12: 6, 16: 10 };

/** Data-In in a pooled buffer: at once when the backstore has it without waiting (readNow), else read. */
function readBlocks({ unit }: ExecutionContext, lba: number, blocks: number): ScsiResponse | Promise<ScsiResponse> {
  if (blocks === 0) return good();
  const bytes = blocks * unit.blockSize;
  const offset = lba * unit.blockSize;
  const pooled = unit.readBuffers.acquire(bytes);
  let data: Buffer | undefined;
  try {
    data = unit.backstore.readNow?.(offset, bytes, pooled.buffer);
  } catch (error) {
    pooled.release();
    throw error;
  }
  if (data !== undefined) return good([data], pooled.release);
  return readWaiting(unit, offset, bytes, pooled);
}

async function readWaiting(unit: LogicalUnit, offset: number, bytes: number, pooled: PooledBuffer): Promise<ScsiResponse> {
  try {
    const data = await unit.backstore.read(offset, bytes, pooled.buffer);
    return good([data], pooled.release);
  } catch (error) {
    pooled.release();
    throw error;
  }
}

export async function writeBlocks(context: ExecutionContext, lba: number, chunks: readonly Buffer[], fua: boolean): Promise<void> {
  const { unit } = context;
  if (chunks.length === 0) return;
  let bytes = 0;
  for (const c of chunks) bytes += c.length;
  // Every write holds its range while in flight, so COMPARE AND WRITE / WRITE ATOMIC / ORWRITE are
  // atomic against it (overlapping plain writes from different nexuses have no defined order anyway).
  const blocks = bytes / unit.blockSize;
  const release = unit.rangeLock.tryAcquire(lba, blocks) ?? (await unit.rangeLock.acquire(lba, blocks));
  try {
    await writeHeld(unit, lba, chunks, fua);
  } finally {
    release();
  }
}

/** Writes blocks whose range the caller already holds (COMPARE AND WRITE, ORWRITE, writeBlocks). */
export function writeHeld(unit: LogicalUnit, lba: number, chunks: readonly Buffer[], fua: boolean): Promise<void> {
  // With the write cache disabled (Caching page WCE=0) every write must be stable before status.
  return unit.backstore.write(lba * unit.blockSize, chunks, { fua: fua || !unit.writeCacheEnabled });
}

/** Offset of the first byte where `a` differs from `b` (callers know that they differ). */
export function firstMismatch(a: Buffer, b: Buffer): number {
  let i = 0;
  while (a[i] === b[i]) i++;
  return i;
}

/**
 * A parsed READ. A class rather than an object literal with a `run` arrow: under tsx (esbuild
 * keepNames) that arrow is named with Object.defineProperty on every command, a slow V8 path.
 */
class ReadCommand implements ParsedCommand {
  readonly range: { readonly lba: number; readonly blocks: number };
  readonly readsMedium = true;

  constructor(
    lba: number,
    blocks: number,
    readonly afterRangeCheck: SenseFailure | undefined,
  ) {
    this.range = { lba, blocks };
  }

  run(context: ExecutionContext) {
    return readBlocks(context, this.range.lba, this.range.blocks);
  }
}

function readOpcode(opcode: number, size: Size, usageBits: number[]): OpcodeDescriptor {
  return defineOpcode({
    name: `READ(${size})`, opcode, cdbLength: size, usageBits, access: 'read',
    parse(cdb, unit): ParsedCommand | SenseFailure {
      const { lba, blocks, flags } = decode(cdb, size);
      if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // RDPROTECT: no protection information
      const afterRangeCheck = checkTransfer(unit, blocks, LENGTH_BYTE[size]);
      return new ReadCommand(lba, blocks, afterRangeCheck);
    },
  });
}

function writeOpcode(name: string, opcode: number, size: Size, usageBits: number[]): OpcodeDescriptor {
  return defineOpcode({
    name: `${name}(${size})`, opcode, cdbLength: size, usageBits,
    parse(cdb, unit): ParsedCommand | SenseFailure {
      const { lba, blocks, flags } = decode(cdb, size);
      if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT: no protection information
      const afterRangeCheck = checkTransfer(unit, blocks, LENGTH_BYTE[size]);
      const bytes = blocks * (unit?.blockSize ?? 0);
      // WRITE AND VERIFY always verifies what reached the medium, so treat it like FUA.
      const fua = (flags & FUA) !== 0 || name !== 'WRITE';
      return {
        range: { lba, blocks },
        afterRangeCheck,
        dataOutBytes: bytes,
        acceptsShortDataOut: true,
        writesMedium: true,
        async run(context) {
          // iSCSI EDTL ≠ SCSI transfer length (FCP-4 §9.4.2, as libiscsi's iSCSIResiduals read it):
          // exactly min(EDTL, TL) bytes are written and the fabric reports the residual (option a),
          // unless that would end inside a logical block: then nothing is written and the command
          // fails INVALID FIELD IN INFORMATION UNIT (option b), still with its residual. A block is
          // never written in part. libiscsi 1.19 needs (a) whenever EDTL is whole blocks (EDTL 0, one
          // of two blocks); its newest suite accepts (a) or (b) and checks the bytes written.
          const received = Math.min(bytes, context.command.dataOutLength);
          if (received % context.unit.blockSize !== 0) return senseFailure('invalid-field-in-information-unit');
          await writeBlocks(context, lba, dataOutChunks(context.command, received), fua);
          return good();
        },
      };
    },
  });
}

/** VERIFY: BYTCHK 00 checks the medium (always readable here), 01 compares Data-Out, 11 compares one block against each. */
function verifyOpcode(opcode: number, size: Exclude<Size, 6>, usageBits: number[]): OpcodeDescriptor {
  return defineOpcode({
    name: `VERIFY(${size})`, opcode, cdbLength: size, usageBits, access: 'read',
    parse(cdb, unit): ParsedCommand | SenseFailure {
      const { lba, blocks, flags } = decode(cdb, size);
      if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // VRPROTECT
      const bytchk = (flags >> 1) & 0x03;
      if (bytchk === 2) return invalidCdbField(1, 2);
      const afterRangeCheck = checkTransfer(unit, blocks, LENGTH_BYTE[size]);
      const blockSize = unit?.blockSize ?? 0;
      const dataOutBytes = bytchk === 0 || blocks === 0 ? 0 : bytchk === 1 ? blocks * blockSize : blockSize;
      return {
        range: { lba, blocks },
        afterRangeCheck,
        dataOutBytes,
        async run(context) {
          if (bytchk === 0 || blocks === 0) return good();
          const expected = dataOutBuffer(context.command, dataOutBytes);
          const medium = await context.unit.backstore.read(lba * blockSize, blocks * blockSize);
          for (let offset = 0; offset < medium.length; offset += blockSize) {
            const block = medium.subarray(offset, offset + blockSize);
            const reference = bytchk === 1 ? expected.subarray(offset, offset + blockSize) : expected;
            if (!block.equals(reference)) return senseFailure('miscompare-during-verify', { information: offset + firstMismatch(block, reference) });
          }
          return good();
        },
      };
    },
  });
}

const rw10 = (op: number) => [op, 0xfa, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x00];
const rw12 = (op: number) => [op, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00];
const rw16 = (op: number) => [op, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00];
const v10 = (op: number) => [op, 0xf6, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x00];
const v12 = (op: number) => [op, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00];
const v16 = (op: number) => [op, 0xf6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00];

export const readWriteOpcodes: readonly OpcodeDescriptor[] = [
  readOpcode(0x08, 6, [0x08, 0x1f, 0xff, 0xff, 0xff, 0x00]),
  readOpcode(0x28, 10, rw10(0x28)),
  readOpcode(0xa8, 12, rw12(0xa8)),
  readOpcode(0x88, 16, rw16(0x88)),
  writeOpcode('WRITE', 0x0a, 6, [0x0a, 0x1f, 0xff, 0xff, 0xff, 0x00]),
  writeOpcode('WRITE', 0x2a, 10, rw10(0x2a)),
  writeOpcode('WRITE', 0xaa, 12, rw12(0xaa)),
  writeOpcode('WRITE', 0x8a, 16, rw16(0x8a)),
  writeOpcode('WRITE AND VERIFY', 0x2e, 10, v10(0x2e)),
  writeOpcode('WRITE AND VERIFY', 0xae, 12, v12(0xae)),
  writeOpcode('WRITE AND VERIFY', 0x8e, 16, v16(0x8e)),
  verifyOpcode(0x2f, 10, v10(0x2f)),
  verifyOpcode(0xaf, 12, v12(0xaf)),
  verifyOpcode(0x8f, 16, v16(0x8f)),
];

