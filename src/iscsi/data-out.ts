/**
 * Write data collection for one task: immediate data, unsolicited Data-Out (up to FirstBurstLength)
 * and R2T-solicited Data-Out (bursts of MaxBurstLength, at most MaxOutstandingR2T at a time), with
 * the DataSN and BufferOffset checks of RFC 7143 §11.7 (DataPDUInOrder=Yes, DataSequenceInOrder=Yes).
 */
import { RESERVED_TAG } from './constants.ts';
import type { SessionParameters } from './negotiation.ts';
import type { R2tFields } from './serializer.ts';
import type { ScsiTask } from './scsi-task.ts';

export type DataOutResult = 'more' | 'complete' | { readonly error: string };

/** A PDU's write payload: one view, or the views of a data segment that straddled receive chunks. */
export type Payload = Buffer | readonly Buffer[];

function payloadLength(data: Payload): number {
  if (Buffer.isBuffer(data)) return data.length;
  let n = 0;
  for (const part of data) n += part.length;
  return n;
}

/** Copies the payload into the task after what it holds (receive memory is reused); callers then advance `received`. */
function keep(task: ScsiTask, data: Payload): void {
  if (Buffer.isBuffer(data)) {
    if (data.length > 0) task.appendData(data, task.received);
    return;
  }
  let at = task.received;
  for (const part of data) {
    if (part.length === 0) continue;
    task.appendData(part, at);
    at += part.length;
  }
}

/** Takes the command PDU's immediate data and opens the unsolicited sequence when F=0. */
export function startWrite(task: ScsiTask, immediate: Payload, finalBit: boolean, params: SessionParameters): DataOutResult {
  const firstBurst = Math.min(params.firstBurstLength, task.writeLength);
  const immediateLength = payloadLength(immediate);
  if (immediateLength > 0) {
    if (!params.immediateData) return { error: 'immediate data with ImmediateData=No' };
    if (immediateLength > firstBurst) return { error: `immediate data ${immediateLength} exceeds FirstBurstLength/EDTL ${firstBurst}` };
    keep(task, immediate);
    task.received = immediateLength;
  }
  task.unsolicitedLimit = params.initialR2T ? task.received : firstBurst;
  // With InitialR2T=Yes no unsolicited Data-Out may follow, whatever the F bit says.
  task.unsolicitedOpen = !finalBit && !params.initialR2T && task.received < firstBurst;
  task.nextR2TOffset = task.unsolicitedOpen ? task.unsolicitedLimit : task.received;
  return task.dataComplete ? 'complete' : 'more';
}

/** Accepts one Data-Out PDU's payload (RFC 7143 §11.7.4: DataSN per sequence, offsets in order). */
export function acceptDataOut(task: ScsiTask, ttt: number, dataSN: number, offset: number, finalBit: boolean, payload: Payload): DataOutResult {
  const length = payloadLength(payload);
  if (ttt === RESERVED_TAG) {
    if (!task.unsolicitedOpen) return { error: 'unsolicited Data-Out not expected' };
    if (dataSN !== task.unsolicitedDataSN) return { error: `unsolicited DataSN ${dataSN}, expected ${task.unsolicitedDataSN}` };
    if (offset !== task.received) return { error: `BufferOffset ${offset}, expected ${task.received}` };
    if (task.received + length > task.unsolicitedLimit) return { error: 'unsolicited data beyond FirstBurstLength' };
    task.unsolicitedDataSN += 1;
    keep(task, payload);
    task.received += length;
    if (finalBit || task.received >= task.unsolicitedLimit) {
      if (!finalBit) return { error: 'unsolicited burst full without F bit' };
      task.unsolicitedOpen = false;
      if (task.received < task.unsolicitedLimit) task.nextR2TOffset = task.received;
    }
    return task.dataComplete ? 'complete' : 'more';
  }
  const r2t = task.r2ts.get(ttt);
  if (!r2t) return { error: `Data-Out for unknown TTT 0x${ttt.toString(16)}` };
  if (dataSN !== r2t.nextDataSN) return { error: `DataSN ${dataSN}, expected ${r2t.nextDataSN}` };
  if (offset !== r2t.offset + r2t.received || offset !== task.received) return { error: `BufferOffset ${offset}, expected ${r2t.offset + r2t.received}` };
  if (r2t.received + length > r2t.length) return { error: 'Data-Out beyond the R2T length' };
  r2t.nextDataSN += 1;
  keep(task, payload);
  r2t.received += length;
  task.received += length;
  if (r2t.received === r2t.length) {
    if (!finalBit) return { error: 'R2T sequence complete without F bit' };
    task.r2ts.delete(ttt);
  } else if (finalBit) {
    return { error: 'F bit before the R2T sequence is complete' };
  }
  return task.dataComplete ? 'complete' : 'more';
}

/** R2Ts to send now: one per MaxBurstLength of missing data, up to MaxOutstandingR2T in flight. */
export function nextR2Ts(task: ScsiTask, params: SessionParameters, newTag: () => number): Omit<R2tFields, 'lun' | 'itt'>[] {
  const out: Omit<R2tFields, 'lun' | 'itt'>[] = [];
  if (task.unsolicitedOpen || task.aborted) return out;
  while (task.r2ts.size < params.maxOutstandingR2T && task.nextR2TOffset < task.writeLength) {
    const length = Math.min(params.maxBurstLength, task.writeLength - task.nextR2TOffset);
    const state = { ttt: newTag(), offset: task.nextR2TOffset, length, received: 0, nextDataSN: 0 };
    task.r2ts.set(state.ttt, state);
    out.push({ ttt: state.ttt, r2tSN: task.r2tSN, bufferOffset: state.offset, desiredLength: length });
    task.r2tSN += 1;
    task.nextR2TOffset += length;
  }
  return out;
}
