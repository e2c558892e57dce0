/**
 * EXTENDED COPY (LID1) parameter list decoding and execution (SPC-4 §6.4): identification-descriptor
 * target descriptors (0xE4) resolved against this target's LUs by their VPD 0x83 designators, and
 * block-to-block segment descriptors (0x02, a 16-bit block count; 0x0A, a 32-bit byte count with byte
 * offsets) copied in bounded chunks through the normal write path.
 */
import type { ExecutionContext, TargetContext } from '../opcode.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { invalidParameterField, senseFailure, type SenseFailure } from '../sense.ts';
import { writeBlocks } from '../sbc/read-write.ts';

export const COPY_LIMITS = {
  maxTargetDescriptors: 4,
  maxSegmentDescriptors: 16,
  maxDescriptorListLength: 1024,
  maxSegmentBytes: 64 * 1024 * 1024,
} as const;

const HEADER = 16;
const IDENTIFICATION_TARGET = 0xe4;
const BLOCK_TO_BLOCK = 0x02;
const BLOCK_TO_BLOCK_WITH_OFFSETS = 0x0a;
/** Segment descriptor type codes this copy manager implements (RECEIVE COPY RESULTS operating parameters). */
export const SEGMENT_DESCRIPTOR_TYPES = [BLOCK_TO_BLOCK, BLOCK_TO_BLOCK_WITH_OFFSETS] as const;
export const TARGET_DESCRIPTOR_TYPES = [IDENTIFICATION_TARGET] as const;
const CHUNK_BYTES = 1024 * 1024;

export interface CopyRecord {
  status: 'running' | 'good' | 'error';
  segmentsProcessed: number;
  bytesTransferred: number;
}

interface Segment {
  readonly source: number;
  readonly destination: number;
  /** 0x02 counts blocks; 0x0A counts bytes from a byte offset into the first block of each side. */
  readonly length: { readonly blocks: number } | { readonly bytes: number; readonly sourceOffset: number; readonly destinationOffset: number };
  readonly sourceLba: number;
  readonly destinationLba: number;
}

export interface CopyPlan {
  readonly listId: number;
  /** LIST ID USAGE 00b/01b: results are kept for RECEIVE COPY RESULTS. */
  readonly keepResults: boolean;
  readonly targets: readonly LogicalUnit[];
  readonly segments: readonly Segment[];
}

const copyAborted = (): SenseFailure => senseFailure('copy-target-device-not-reachable');

function targetDescriptorLength(type: number): number | undefined {
  if (type >= 0xe0 && type <= 0xe9) return 32;
  if (type === 0xea || type === 0xeb) return 64;
  return undefined;
}

function resolveTarget(descriptor: Buffer, target: TargetContext): LogicalUnit | undefined {
  // Bytes 4..: a designation descriptor (SPC-4 §6.4.5.6); we match NAA designators of our LUs.
  const designatorType = descriptor[5] & 0x0f;
  const length = descriptor[7];
  const value = descriptor.subarray(8, 8 + length).toString('hex');
  if (designatorType !== 3) return undefined;
  for (const lun of target.luns) {
    const unit = target.unitFor(lun);
    if (unit && unit.naa === value) return unit;
  }
  return undefined;
}

/** Decodes and validates the parameter list (everything but data access). */
export function planCopy(list: Buffer, target: TargetContext): CopyPlan | SenseFailure | 'empty' {
  if (list.length === 0) return 'empty';
  if (list.length < HEADER) return senseFailure('parameter-list-length-error');
  const listId = list[0];
  const usage = (list[1] >> 3) & 0x03;
  const targetListLength = list.readUInt16BE(2);
  const segmentListLength = list.readUInt32BE(8);
  const inlineLength = list.readUInt32BE(12);
  if (HEADER + targetListLength + segmentListLength + inlineLength > list.length) return senseFailure('parameter-list-length-error');
  if (targetListLength + segmentListLength > COPY_LIMITS.maxDescriptorListLength) return senseFailure('parameter-list-length-error');
  if (inlineLength !== 0) return invalidParameterField(12);

  const targets: LogicalUnit[] = [];
  const unresolved: number[] = [];
  let offset = HEADER;
  const targetEnd = HEADER + targetListLength;
  while (offset < targetEnd) {
    const type = list[offset];
    const length = targetDescriptorLength(type);
    if (length === undefined || type !== IDENTIFICATION_TARGET) return senseFailure('unsupported-target-descriptor-type');
    if (offset + length > targetEnd) return senseFailure('parameter-list-length-error');
    if (targets.length + unresolved.length >= COPY_LIMITS.maxTargetDescriptors) return senseFailure('too-many-target-descriptors');
    const unit = resolveTarget(list.subarray(offset, offset + length), target);
    if (unit) targets.push(unit);
    else unresolved.push(targets.length + unresolved.length);
    offset += length;
  }

  const segments: Segment[] = [];
  const segmentEnd = targetEnd + segmentListLength;
  while (offset < segmentEnd) {
    if (offset + 4 > segmentEnd) return senseFailure('parameter-list-length-error');
    const type = list[offset];
    const length = 4 + list.readUInt16BE(offset + 2);
    if (type !== BLOCK_TO_BLOCK && type !== BLOCK_TO_BLOCK_WITH_OFFSETS) return senseFailure('unsupported-segment-descriptor-type');
    const minimum = type === BLOCK_TO_BLOCK ? 28 : 32;
    if (offset + length > segmentEnd || length < minimum) return senseFailure('parameter-list-length-error');
    if (segments.length >= COPY_LIMITS.maxSegmentDescriptors) return senseFailure('too-many-segment-descriptors');
    segments.push({
      source: list.readUInt16BE(offset + 4),
      destination: list.readUInt16BE(offset + 6),
      length: type === BLOCK_TO_BLOCK
        ? { blocks: list.readUInt16BE(offset + 10) }
        : { bytes: list.readUInt32BE(offset + 8), sourceOffset: list.readUInt16BE(offset + 28), destinationOffset: list.readUInt16BE(offset + 30) },
      sourceLba: Number(list.readBigUInt64BE(offset + 12)),
      destinationLba: Number(list.readBigUInt64BE(offset + 20)),
    });
    offset += length;
  }
  if (unresolved.length > 0) return copyAborted();
  return { listId, keepResults: usage <= 1, targets, segments };
}

/** Runs the segments in order; a failure aborts the copy (COPY ABORTED) after the segments done. */
export async function runCopy(plan: CopyPlan, context: ExecutionContext, record: CopyRecord): Promise<SenseFailure | undefined> {
  for (const segment of plan.segments) {
    const source = plan.targets[segment.source];
    const destination = plan.targets[segment.destination];
    if (!source || !destination) return copyAborted();
    if (source.blockSize !== destination.blockSize) return copyAborted();
    const blockSize = source.blockSize;
    const length = segment.length;
    let bytes: number;
    if ('blocks' in length) bytes = length.blocks * blockSize;
    else {
      // Whole blocks only: a copy that starts or ends inside a block would write part of one.
      if (length.sourceOffset !== 0 || length.destinationOffset !== 0 || length.bytes % blockSize !== 0) return senseFailure('unexpected-inexact-segment');
      bytes = length.bytes;
    }
    if (bytes > COPY_LIMITS.maxSegmentBytes) return copyAborted();
    const blocks = bytes / blockSize;
    if (segment.sourceLba + blocks > source.blocks || segment.destinationLba + blocks > destination.blocks) return copyAborted();
    for (let done = 0; done < bytes; done += CHUNK_BYTES) {
      const length = Math.min(CHUNK_BYTES, bytes - done);
      const data = await source.backstore.read(segment.sourceLba * source.blockSize + done, length);
      const lba = segment.destinationLba + done / destination.blockSize;
      await writeBlocks({ ...context, unit: destination }, lba, [data], false);
      record.bytesTransferred += length;
    }
    record.segmentsProcessed++;
  }
  return undefined;
}
