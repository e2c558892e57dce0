/** PERSISTENT RESERVE IN (SPC-4 §6.15): READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS. */
import { u16 } from '../cdb.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, goodData, type OpcodeDescriptor } from '../opcode.ts';
import { isAllRegistrants } from './persistent-reservations.ts';

function header(generation: number, additionalLength: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(generation, 0);
  out.writeUInt32BE(additionalLength, 4);
  return out;
}

function readKeys(unit: LogicalUnit): Buffer {
  const pr = unit.persistentReservations;
  const keys = [...pr.registrations.values()].map((r) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(r.key, 0);
    return b;
  });
  return Buffer.concat([header(pr.generation, keys.length * 8), ...keys]);
}

function readReservation(unit: LogicalUnit): Buffer {
  const pr = unit.persistentReservations;
  const r = pr.reservation;
  if (!r) return header(pr.generation, 0);
  const body = Buffer.alloc(16);
  // All-registrants reservations report key 0 (SPC-4 §6.15.3.3).
  const key = isAllRegistrants(r.type) ? 0n : pr.registrations.get(r.holder)?.key ?? 0n;
  body.writeBigUInt64BE(key, 0);
  body[13] = r.type; // SCOPE=0 (LU)
  return Buffer.concat([header(pr.generation, 16), body]);
}

function reportCapabilities(): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt16BE(8, 0);
  out[2] = 0x10 | 0x01; // CRH (compatible reservation handling), PTPL_C (APTPL supported)
  out[3] = 0x80; // TMV: the type mask is valid; ALLOW COMMANDS=0
  out[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
  out[5] = 0x01; // EX_AC_AR
  return out;
}

/** iSCSI TransportID, initiator port format (SPC-4 §7.6.4.6): "name,i,0xISID", padded to 4 bytes. */
function transportId(initiatorName: string, isid: string): Buffer {
  const name = Buffer.from(`${initiatorName},i,0x${isid}`, 'utf8');
  const length = Math.max(20, Math.ceil((name.length + 1) / 4) * 4);
  const out = Buffer.alloc(4 + length);
  out[0] = 0x40 | 0x05; // FORMAT CODE 01b, PROTOCOL IDENTIFIER iSCSI
  out.writeUInt16BE(length, 2);
  name.copy(out, 4);
  return out;
}

function readFullStatus(unit: LogicalUnit): Buffer {
  const pr = unit.persistentReservations;
  const parts = [...pr.registrations.values()].map((r) => {
    const id = transportId(r.initiatorName, r.isid);
    const d = Buffer.alloc(24);
    d.writeBigUInt64BE(r.key, 0);
    const holder = pr.isHolder(r.nexusId);
    d[12] = holder ? 0x01 : 0x00; // R_HOLDER
    d[13] = holder && pr.reservation ? pr.reservation.type : 0;
    d.writeUInt16BE(r.portalGroupTag, 18); // RELATIVE TARGET PORT IDENTIFIER (= portal group tag, as in VPD 0x83)
    d.writeUInt32BE(id.length, 20);
    return Buffer.concat([d, id]);
  });
  return Buffer.concat([header(pr.generation, parts.reduce((n, p) => n + p.length, 0)), ...parts]);
}

const usage = (sa: number) => [0x5e, sa, 0, 0, 0, 0, 0, 0xff, 0xff, 0x00];

function prIn(serviceAction: number, name: string, build: (unit: LogicalUnit) => Buffer): OpcodeDescriptor {
  return defineOpcode({
    name: `PERSISTENT RESERVE IN / ${name}`,
    opcode: 0x5e,
    serviceAction,
    cdbLength: 10,
    servedWhenNotReady: 'without-medium',
    usageBits: usage(serviceAction),
    access: 'none',
    // Deliberate deviation from SAM-5 §5.14: a read-only query of reservation state neither reports
    // nor clears a unit attention (like INQUIRY), so tools that list PR keys right after a LUN reset
    // (libiscsi's suite cleanup) do not fail; the next medium command still reports it.
    unitAttentionExempt: true,
    parse(cdb) {
      const allocationLength = u16(cdb, 7);
      return { run: ({ unit }) => goodData(build(unit), allocationLength) };
    },
  });
}

export const persistentReserveInOpcodes: readonly OpcodeDescriptor[] = [
  prIn(0x00, 'READ KEYS', readKeys),
  prIn(0x01, 'READ RESERVATION', readReservation),
  prIn(0x02, 'REPORT CAPABILITIES', reportCapabilities),
  prIn(0x03, 'READ FULL STATUS', readFullStatus),
];
