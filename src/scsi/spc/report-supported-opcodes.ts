/**
 * MAINTENANCE IN service actions REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35) and REPORT
 * SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 §6.36), both answered from the opcode table itself.
 */
import { u16, u32 } from '../cdb.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, goodData, hasServiceActions, offeredAction, offeredEntry, type OpcodeDescriptor, type OpcodeEntry } from '../opcode.ts';
import { invalidCdbField } from '../sense.ts';

const DEFAULT_TIMEOUT_SECONDS = 30;

/** Command timeouts descriptor (SPC-4 §6.35.4). */
function timeoutsDescriptor(descriptor: OpcodeDescriptor): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(0x0a, 0);
  const seconds = descriptor.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  out.writeUInt32BE(seconds, 4); // nominal
  out.writeUInt32BE(seconds * 2, 8); // recommended
  return out;
}

/** What this LU offers (SANITIZE only where configured), in opcode / service action order. */
function allDescriptors(table: ReadonlyMap<number, OpcodeEntry>, unit: LogicalUnit): OpcodeDescriptor[] {
  const out: OpcodeDescriptor[] = [];
  for (const entry of [...table.values()].sort((a, b) => a.opcode - b.opcode)) {
    if (offeredEntry(entry, unit) === undefined) continue;
    if (!hasServiceActions(entry)) {
      out.push(entry);
      continue;
    }
    const actions = [...entry.serviceActions.keys()].sort((a, b) => a - b).map((action) => offeredAction(entry, action, unit));
    out.push(...actions.filter((action) => action !== undefined));
  }
  return out;
}

function allCommands(table: ReadonlyMap<number, OpcodeEntry>, unit: LogicalUnit, rctd: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const d of allDescriptors(table, unit)) {
    const entry = Buffer.alloc(8);
    entry[0] = d.opcode;
    entry.writeUInt16BE(d.serviceAction ?? 0, 2);
    entry[5] = (rctd ? 0x02 : 0) | (d.serviceAction !== undefined ? 0x01 : 0); // CTDP, SERVACTV
    entry.writeUInt16BE(d.cdbLength, 6);
    parts.push(entry);
    if (rctd) parts.push(timeoutsDescriptor(d));
  }
  const header = Buffer.alloc(4);
  header.writeUInt32BE(parts.reduce((n, p) => n + p.length, 0), 0);
  return Buffer.concat([header, ...parts]);
}

function oneCommand(descriptor: OpcodeDescriptor | undefined, rctd: boolean): Buffer {
  const header = Buffer.alloc(4);
  if (!descriptor) {
    header[1] = 0x01; // SUPPORT=001b: not supported
    return header;
  }
  header[1] = (rctd ? 0x80 : 0) | 0x03; // CTDP, SUPPORT=011b: supported as the standard says
  header.writeUInt16BE(descriptor.cdbLength, 2);
  const usage = Buffer.alloc(descriptor.cdbLength);
  descriptor.usageBits.forEach((bits, i) => { if (i < usage.length) usage[i] = bits; });
  return Buffer.concat([header, usage, ...(rctd ? [timeoutsDescriptor(descriptor)] : [])]);
}

export const reportSupportedOperationCodes = defineOpcode({
  name: 'REPORT SUPPORTED OPERATION CODES',
  opcode: 0xa3,
  serviceAction: 0x0c,
  cdbLength: 12,
  servedWhenNotReady: 'without-medium',
  usageBits: [0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  reservation: 'allowed',
  access: 'none',
  parse(cdb) {
    const rctd = (cdb[2] & 0x80) !== 0;
    const options = cdb[2] & 0x07;
    const requestedOpcode = cdb[3];
    const requestedServiceAction = u16(cdb, 4);
    const allocationLength = u32(cdb, 6);
    if (options > 3) return invalidCdbField(2, 0);
    return {
      run({ target, unit }) {
        const table = target.opcodes;
        if (options === 0) return goodData(allCommands(table, unit, rctd), allocationLength);
        const entry = offeredEntry(table.get(requestedOpcode), unit);
        if (!entry) return goodData(oneCommand(undefined, rctd), allocationLength);
        const withActions = hasServiceActions(entry);
        if (options === 1 && withActions) return invalidCdbField(3);
        if (options === 2 && !withActions) return invalidCdbField(3);
        const descriptor = withActions ? offeredAction(entry, requestedServiceAction, unit) : entry;
        return goodData(oneCommand(descriptor, rctd), allocationLength);
      },
    };
  },
});

export const reportSupportedTaskManagementFunctions = defineOpcode({
  name: 'REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS',
  opcode: 0xa3,
  serviceAction: 0x0d,
  cdbLength: 12,
  servedWhenNotReady: 'without-medium',
  usageBits: [0xa3, 0x0d, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  reservation: 'allowed',
  access: 'none',
  parse(cdb) {
    const repd = (cdb[2] & 0x80) !== 0;
    const allocationLength = u32(cdb, 6);
    if (allocationLength < 4) return invalidCdbField(6);
    return {
      run() {
        const data = Buffer.alloc(repd ? 16 : 4);
        data[0] = 0x80 | 0x40 | 0x08 | 0x02; // ABORT TASK, ABORT TASK SET, LU RESET, TARGET RESET
        if (repd) data[3] = 0x0c;
        return goodData(data, allocationLength);
      },
    };
  },
});
