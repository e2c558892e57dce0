/** MODE SENSE(6/10) and MODE SELECT(6/10) over the LU's ModePages (SPC-4 §6.11-6.14). */
import { u16 } from '../cdb.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, good, goodData, type ExecutionContext, type ParsedCommand } from '../opcode.ts';
import { invalidCdbField, invalidParameterField, senseFailure, type SenseFailure } from '../sense.ts';
import { ModePage, type PageControl } from './mode-pages.ts';

const PAGE_CONTROLS: readonly PageControl[] = ['current', 'changeable', 'default', 'saved'];

function blockDescriptor(unit: LogicalUnit, long: boolean): Buffer {
  if (long) {
    const d = Buffer.alloc(16);
    d.writeBigUInt64BE(BigInt(unit.blocks), 0);
    d.writeUInt32BE(unit.blockSize, 12);
    return d;
  }
  const d = Buffer.alloc(8);
  d.writeUInt32BE(Math.min(unit.blocks, 0xffffffff), 0); // 0xffffffff: too many blocks for this field
  d.writeUIntBE(unit.blockSize, 5, 3);
  return d;
}

function parseModeSense(cdb: Buffer, ten: boolean): ParsedCommand | SenseFailure {
  const dbd = (cdb[1] & 0x08) !== 0;
  const llbaa = ten && (cdb[1] & 0x10) !== 0;
  const pageControl = PAGE_CONTROLS[cdb[2] >> 6];
  const pageCode = cdb[2] & 0x3f;
  const subpage = cdb[3];
  const allocationLength = ten ? u16(cdb, 7) : cdb[4];
  if (pageControl === 'saved') return senseFailure('saving-parameters-not-supported');
  const allSubpages = pageCode === ModePage.AllPages && subpage === 0xff;
  if (subpage !== 0 && !allSubpages) return invalidCdbField(3);
  return {
    run({ unit }: ExecutionContext) {
      if (pageCode !== ModePage.AllPages && !unit.modePages.has(pageCode)) return invalidCdbField(2);
      const pages = unit.modePages.pages(pageCode, pageControl);
      const descriptor = dbd ? Buffer.alloc(0) : blockDescriptor(unit, llbaa);
      // DEVICE-SPECIFIC PARAMETER: WP, DPOFUA (SBC-3 §6.4.1)
      const deviceSpecific = (unit.isWriteProtected ? 0x80 : 0) | 0x10;
      const header = Buffer.alloc(ten ? 8 : 4);
      const total = header.length + descriptor.length + pages.reduce((n, p) => n + p.length, 0);
      if (ten) {
        header.writeUInt16BE(total - 2, 0);
        header[3] = deviceSpecific;
        header[4] = llbaa ? 0x01 : 0x00;
        header.writeUInt16BE(descriptor.length, 6);
      } else {
        header[0] = Math.min(total - 1, 0xff);
        header[2] = deviceSpecific;
        header[3] = descriptor.length;
      }
      return goodData(Buffer.concat([header, descriptor, ...pages]), allocationLength);
    },
  };
}

function parseModeSelect(cdb: Buffer, ten: boolean): ParsedCommand | SenseFailure {
  const pf = (cdb[1] & 0x10) !== 0;
  const sp = (cdb[1] & 0x01) !== 0;
  const length = ten ? u16(cdb, 7) : cdb[4];
  if (sp) return invalidCdbField(1, 0); // saving pages is not supported
  if (!pf && length > 0) return invalidCdbField(1, 4);
  return {
    dataOutBytes: length,
    run(context) {
      // Parameter lists are tiny: one concatenation is simpler than parsing across chunks.
      const list = Buffer.concat(context.command.dataOut as Buffer[]).subarray(0, length);
      return applyModeSelect(context, list, ten) ?? good();
    },
  };
}

/** Validates the whole parameter list first, then applies it (no partial updates). */
function applyModeSelect(context: ExecutionContext, list: Buffer, ten: boolean): SenseFailure | undefined {
  const { unit, command, target } = context;
  if (list.length === 0) return undefined;
  const headerLength = ten ? 8 : 4;
  if (list.length < headerLength) return senseFailure('parameter-list-length-error');
  const descriptorLength = ten ? list.readUInt16BE(6) : list[3];
  let offset = headerLength;
  if (offset + descriptorLength > list.length) return senseFailure('parameter-list-length-error');
  if (descriptorLength > 0) {
    const long = ten && (list[4] & 0x01) !== 0;
    const blockLength = long ? list.readUInt32BE(offset + 12) : list.readUIntBE(offset + 5, 3);
    if (blockLength !== unit.blockSize && blockLength !== 0) return invalidParameterField(offset + (long ? 12 : 5));
  }
  offset += descriptorLength;
  const pages: Buffer[] = [];
  while (offset < list.length) {
    if (offset + 2 > list.length) return senseFailure('parameter-list-length-error');
    const page = list.subarray(offset, offset + 2 + list[offset + 1]);
    if (page.length !== 2 + list[offset + 1]) return senseFailure('parameter-list-length-error');
    const bad = unit.modePages.validate(page);
    if (bad !== undefined) return invalidParameterField(offset + bad);
    pages.push(page);
    offset += page.length;
  }
  let changed = false;
  for (const page of pages) changed = unit.modePages.apply(page) || changed;
  // SPC-4 §7.5.2: other nexuses learn of the change through a unit attention.
  if (changed) unit.unitAttentions.raiseAll(target.nexusIds(), 'mode-parameters-changed', command.nexus.id);
  return undefined;
}

export const modeSense6 = defineOpcode({
  name: 'MODE SENSE(6)', opcode: 0x1a, cdbLength: 6, access: 'read', servedWhenNotReady: 'without-medium',
  usageBits: [0x1a, 0x08, 0xff, 0xff, 0xff, 0x00],
  parse: (cdb) => parseModeSense(cdb, false),
});
export const modeSense10 = defineOpcode({
  name: 'MODE SENSE(10)', opcode: 0x5a, cdbLength: 10, access: 'read', servedWhenNotReady: 'without-medium',
  usageBits: [0x5a, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
  parse: (cdb) => parseModeSense(cdb, true),
});
export const modeSelect6 = defineOpcode({
  name: 'MODE SELECT(6)', opcode: 0x15, cdbLength: 6, servedWhenNotReady: 'without-medium',
  usageBits: [0x15, 0x11, 0x00, 0x00, 0xff, 0x00],
  parse: (cdb) => parseModeSelect(cdb, false),
});
export const modeSelect10 = defineOpcode({
  name: 'MODE SELECT(10)', opcode: 0x55, cdbLength: 10, servedWhenNotReady: 'without-medium',
  usageBits: [0x55, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
  parse: (cdb) => parseModeSelect(cdb, true),
});
