/** EXTENDED COPY(LID1) and RECEIVE COPY RESULTS (SPC-4 §6.4, §6.21) over the copy manager. */
import { u32 } from '../cdb.ts';
import { dataOutBuffer } from '../data-out.ts';
import { defineOpcode, good, goodData, type OpcodeDescriptor } from '../opcode.ts';
import { invalidCdbField, senseFailure } from '../sense.ts';
import { COPY_LIMITS, planCopy, runCopy, SEGMENT_DESCRIPTOR_TYPES, TARGET_DESCRIPTOR_TYPES, type CopyRecord } from './copy-manager.ts';

const MAX_PARAMETER_LIST = 16 + COPY_LIMITS.maxDescriptorListLength;

export const extendedCopy = defineOpcode({
  name: 'EXTENDED COPY(LID1)',
  opcode: 0x83,
  serviceAction: 0x00,
  cdbLength: 16,
  usageBits: [0x83, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  timeoutSeconds: 300,
  parse(cdb) {
    const length = u32(cdb, 10);
    if (length > MAX_PARAMETER_LIST) return senseFailure('parameter-list-length-error');
    return {
      dataOutBytes: length,
      writesMedium: true,
      async run(context) {
        const plan = planCopy(dataOutBuffer(context.command, length), context.target);
        if (plan === 'empty') return good();
        if ('kind' in plan) return plan;
        const record: CopyRecord = { status: 'running', segmentsProcessed: 0, bytesTransferred: 0 };
        if (plan.keepResults) context.target.copyResults.set(`${context.command.nexus.id}/${plan.listId}`, record);
        const failure = await runCopy(plan, context, record);
        record.status = failure ? 'error' : 'good';
        context.target.copyOperations.count++;
        context.target.copyOperations.bytes += record.bytesTransferred;
        return failure ?? good();
      },
    };
  },
});

function copyStatus(record: CopyRecord): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32BE(8, 0);
  out[4] = record.status === 'running' ? 0x00 : record.status === 'good' ? 0x01 : 0x02;
  out.writeUInt16BE(record.segmentsProcessed, 5);
  out[7] = 0xf1; // TRANSFER COUNT UNITS: kibibytes
  out.writeUInt32BE(Math.floor(record.bytesTransferred / 1024), 8);
  return out;
}

function operatingParameters(): Buffer {
  const codes = [...SEGMENT_DESCRIPTOR_TYPES, ...TARGET_DESCRIPTOR_TYPES];
  const out = Buffer.alloc(44 + codes.length);
  out.writeUInt32BE(out.length - 4, 0);
  out.writeUInt16BE(COPY_LIMITS.maxTargetDescriptors, 8);
  out.writeUInt16BE(COPY_LIMITS.maxSegmentDescriptors, 10);
  out.writeUInt32BE(COPY_LIMITS.maxDescriptorListLength, 12);
  out.writeUInt32BE(COPY_LIMITS.maxSegmentBytes, 16);
  out.writeUInt16BE(1, 34); // TOTAL CONCURRENT COPIES
  out[36] = 1; // MAXIMUM CONCURRENT COPIES
  out[37] = 9; // DATA SEGMENT GRANULARITY: 2^9 bytes
  out[43] = codes.length;
  codes.forEach((code, i) => { out[44 + i] = code; });
  return out;
}

function receiveCopyResults(serviceAction: number, name: string): OpcodeDescriptor {
  return defineOpcode({
    name: `RECEIVE COPY RESULTS / ${name}`,
    opcode: 0x84,
    serviceAction,
    cdbLength: 16,
    usageBits: [0x84, serviceAction, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    access: 'none',
    parse(cdb) {
      const listId = cdb[2];
      const allocationLength = u32(cdb, 10);
      return {
        run({ target, command }) {
          if (serviceAction === 0x03) return goodData(operatingParameters(), allocationLength);
          const record = target.copyResults.get(`${command.nexus.id}/${listId}`);
          if (!record) return invalidCdbField(2);
          return goodData(copyStatus(record), allocationLength);
        },
      };
    },
  });
}

export const extendedCopyOpcodes: readonly OpcodeDescriptor[] = [
  extendedCopy,
  receiveCopyResults(0x00, 'COPY STATUS'),
  receiveCopyResults(0x03, 'OPERATING PARAMETERS'),
];
