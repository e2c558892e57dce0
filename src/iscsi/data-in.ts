/**
 * Sending a command's outcome (RFC 7143 §11.4, §11.7): Data-In split by the initiator's
 * MaxRecvDataSegmentLength and MaxBurstLength as views of the SCSI layer's buffers, status in the
 * last Data-In when there is no sense data, else a SCSI Response; residual over/underflow.
 */
import type { ScsiResponse } from '../scsi/command.ts';
import type { SessionParameters } from './negotiation.ts';
import { dataIn, scsiResponse, type OutPdu, type Residual, type Sequence } from './serializer.ts';
import type { ScsiTask } from './scsi-task.ts';

export interface PduSender {
  /** Sends a PDU built with the current sequence numbers; `status` consumes one StatSN. */
  send(build: (seq: Sequence) => OutPdu, status: boolean, onWritten?: () => void): void;
  cork(): void;
  uncork(): void;
}

/** RFC 7143 §11.4.5: residuals compare ExpectedDataTransferLength with what the CDB asked for. */
export function residualOf(expectedLength: number, transferLength: number): Residual {
  if (transferLength > expectedLength) return { overflow: true, underflow: false, count: transferLength - expectedLength };
  if (transferLength < expectedLength) return { overflow: false, underflow: true, count: expectedLength - transferLength };
  return { overflow: false, underflow: false, count: 0 };
}

function totalOf(chunks: readonly Buffer[] | undefined): number {
  let total = 0;
  if (chunks) for (const c of chunks) total += c.length;
  return total;
}

export function sendScsiResult(sender: PduSender, task: ScsiTask, response: ScsiResponse, params: SessionParameters): void {
  const dataTotal = totalOf(response.dataIn);
  const transferLength = response.transferLength ?? (task.readFlag ? dataTotal : task.received);
  const residual = residualOf(task.expectedLength, transferLength);
  const toSend = task.readFlag && response.dataIn ? Math.min(dataTotal, task.expectedLength) : 0;
  const sense = response.sense && response.sense.length > 0 ? response.sense : undefined;
  const statusInData = toSend > 0 && sense === undefined;
  const release = response.release;

  sender.cork();
  let dataSN = 0;
  if (toSend > 0 && response.dataIn) {
    const maxSegment = params.initiatorMaxRecvDataSegmentLength;
    const maxBurst = params.maxBurstLength;
    let chunkIndex = 0;
    let chunkOffset = 0;
    let sent = 0;
    while (sent < toSend) {
      const burstLeft = maxBurst - (sent % maxBurst);
      const length = Math.min(maxSegment, toSend - sent, burstLeft);
      const pieces: Buffer[] = [];
      let need = length;
      while (need > 0) {
        const chunk = response.dataIn[chunkIndex];
        const take = Math.min(need, chunk.length - chunkOffset);
        if (take > 0) pieces.push(chunk.subarray(chunkOffset, chunkOffset + take));
        need -= take;
        chunkOffset += take;
        if (chunkOffset >= chunk.length) {
          chunkIndex += 1;
          chunkOffset = 0;
        }
      }
      const last = sent + length === toSend;
      const pduSN = dataSN;
      const offset = sent;
      const withStatus = last && statusInData;
      sender.send(
        (seq) =>
          dataIn(
            {
              final: last || length === burstLeft,
              status: withStatus ? response.status : undefined,
              residual,
              lun: task.lun,
              itt: task.itt,
              dataSN: pduSN,
              bufferOffset: offset,
              data: pieces,
            },
            seq,
          ),
        withStatus,
        withStatus ? release : undefined,
      );
      dataSN += 1;
      sent += length;
    }
  }
  if (!statusInData) {
    const expDataSN = task.readFlag ? dataSN : task.r2tSN;
    sender.send((seq) => scsiResponse({ itt: task.itt, status: response.status, sense, residual, expDataSN }, seq), true, release);
  }
  sender.uncork();
}
