/** The opcode table: every supported command, keyed by opcode (service actions as sub-tables). */
import type { OpcodeDescriptor, OpcodeEntry, ServiceActionOpcode } from './opcode.ts';
import { persistentReserveInOpcodes } from './pr/persistent-reserve-in.ts';
import { persistentReserveOutOpcodes } from './pr/persistent-reserve-out.ts';
import { compareAndWrite, orWrite16 } from './sbc/compare-and-write.ts';
import { getLbaStatus } from './sbc/get-lba-status.ts';
import { unmap } from './sbc/unmap.ts';
import { writeAtomic16 } from './sbc/write-atomic.ts';
import { writeSameOpcodes } from './sbc/write-same.ts';
import { extendedCopyOpcodes } from './xcopy/extended-copy.ts';
import { cacheOpcodes } from './sbc/cache-commands.ts';
import { readCapacity10, readCapacity16 } from './sbc/read-capacity.ts';
import { readDefectData10, readDefectData12 } from './sbc/read-defect-data.ts';
import { readWriteOpcodes } from './sbc/read-write.ts';
import { sanitizeOpcodes } from './sbc/sanitize.ts';
import { preventAllowMediumRemoval, startStopUnit } from './sbc/unit-control.ts';
import { inquiry } from './spc/inquiry.ts';
import { modeSelect10, modeSelect6, modeSense10, modeSense6 } from './spc/mode-sense-select.ts';
import { reportLuns } from './spc/report-luns.ts';
import { reportTargetPortGroups } from './spc/report-target-port-groups.ts';
import { reportSupportedOperationCodes, reportSupportedTaskManagementFunctions } from './spc/report-supported-opcodes.ts';
import { requestSense, testUnitReady } from './spc/request-sense.ts';
import { release10, release6, reserve10, reserve6 } from './spc/reserve-release.ts';

const SERVICE_ACTION_NAMES: Record<number, string> = {
  0x9e: 'SERVICE ACTION IN(16)',
  0xa3: 'MAINTENANCE IN',
  0xa4: 'MAINTENANCE OUT',
  0x5e: 'PERSISTENT RESERVE IN',
  0x5f: 'PERSISTENT RESERVE OUT',
  0x84: 'RECEIVE COPY RESULTS',
  0x83: 'EXTENDED COPY',
  0x48: 'SANITIZE',
};

/** Builds the table; descriptors with a serviceAction are grouped under their opcode. */
export function buildOpcodeTable(descriptors: readonly OpcodeDescriptor[]): ReadonlyMap<number, OpcodeEntry> {
  const table = new Map<number, OpcodeEntry>();
  for (const d of descriptors) {
    if (d.serviceAction === undefined) {
      if (table.has(d.opcode)) throw new Error(`duplicate opcode 0x${d.opcode.toString(16)}`);
      table.set(d.opcode, d);
      continue;
    }
    const existing = table.get(d.opcode) as ServiceActionOpcode | undefined;
    const actions = new Map(existing?.serviceActions ?? []);
    actions.set(d.serviceAction, d);
    table.set(d.opcode, { opcode: d.opcode, name: SERVICE_ACTION_NAMES[d.opcode] ?? d.name, serviceActions: actions });
  }
  return table;
}

export const CORE_OPCODES: readonly OpcodeDescriptor[] = [
  testUnitReady, requestSense, inquiry, reportLuns,
  modeSense6, modeSense10, modeSelect6, modeSelect10,
  reserve6, release6, reserve10, release10,
  reportSupportedOperationCodes, reportSupportedTaskManagementFunctions, reportTargetPortGroups,
  readCapacity10, readCapacity16,
  ...readWriteOpcodes, ...cacheOpcodes,
  startStopUnit, preventAllowMediumRemoval,
  ...persistentReserveInOpcodes, ...persistentReserveOutOpcodes,
  ...writeSameOpcodes, unmap, getLbaStatus, compareAndWrite, orWrite16, writeAtomic16,
  ...extendedCopyOpcodes, readDefectData10, readDefectData12,
  ...sanitizeOpcodes,
];

export const DEFAULT_OPCODE_TABLE = buildOpcodeTable(CORE_OPCODES);
