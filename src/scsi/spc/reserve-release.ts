/**
 * SPC-2 RESERVE(6/10) and RELEASE(6/10): one exclusive reservation per LU held by an I_T nexus.
 * Other nexuses get RESERVATION CONFLICT for most commands (checked by the target's dispatcher).
 */
import type { ExecutionContext, ParsedCommand } from '../opcode.ts';
import { defineOpcode, good, RESERVATION_CONFLICT } from '../opcode.ts';
import { invalidCdbField, type SenseFailure } from '../sense.ts';

function reserve(context: ExecutionContext) {
  const { unit, command } = context;
  const holder = unit.reservationHolder;
  if (holder !== undefined && holder !== command.nexus.id) return RESERVATION_CONFLICT;
  if (unit.persistentReservations.hasRegistrations()) return RESERVATION_CONFLICT; // SPC-3 §5.6.3
  unit.reservationHolder = command.nexus.id;
  return good();
}

function release(context: ExecutionContext) {
  const { unit, command } = context;
  // Releasing a reservation held by someone else (or none) is not an error (SPC-2 §7.17).
  if (unit.reservationHolder === command.nexus.id) unit.reservationHolder = undefined;
  return good();
}

function parse10(cdb: Buffer, run: ParsedCommand['run']): ParsedCommand | SenseFailure {
  if ((cdb[1] & 0x10) !== 0) return invalidCdbField(1, 4); // 3RDPTY: third-party reservations unsupported
  if ((cdb[1] & 0x02) !== 0) return invalidCdbField(1, 1); // LONGID
  return { run };
}

export const reserve6 = defineOpcode({
  name: 'RESERVE(6)', opcode: 0x16, cdbLength: 6, usageBits: [0x16, 0x00, 0x00, 0x00, 0x00, 0x00], servedWhenNotReady: 'without-medium',
  parse: () => ({ run: reserve }),
});
export const release6 = defineOpcode({
  name: 'RELEASE(6)', opcode: 0x17, cdbLength: 6, usageBits: [0x17, 0x00, 0x00, 0x00, 0x00, 0x00], servedWhenNotReady: 'without-medium',
  reservation: 'allowed',
  parse: () => ({ run: release }),
});
export const reserve10 = defineOpcode({
  name: 'RESERVE(10)', opcode: 0x56, cdbLength: 10, usageBits: [0x56, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x00], servedWhenNotReady: 'without-medium',
  parse: (cdb) => parse10(cdb, reserve),
});
export const release10 = defineOpcode({
  name: 'RELEASE(10)', opcode: 0x57, cdbLength: 10, usageBits: [0x57, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x00], servedWhenNotReady: 'without-medium',
  reservation: 'allowed',
  parse: (cdb) => parse10(cdb, release),
});
