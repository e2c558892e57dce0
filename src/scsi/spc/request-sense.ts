/** REQUEST SENSE (SPC-4 §6.39) and TEST UNIT READY (SPC-4 §6.47). */
import { defineOpcode, good, goodData } from '../opcode.ts';
import { buildSense, invalidCdbField, senseFailure } from '../sense.ts';

export const requestSense = defineOpcode({
  name: 'REQUEST SENSE',
  opcode: 0x03,
  cdbLength: 6,
  usageBits: [0x03, 0x00, 0x00, 0x00, 0xff, 0x00],
  reservation: 'allowed',
  access: 'none',
  withoutUnit: true,
  servedWhenNotReady: 'always',
  unitAttentionExempt: true,
  parse(cdb) {
    if ((cdb[1] & 0x01) !== 0) return invalidCdbField(1, 0); // DESC: descriptor format not supported
    const allocationLength = cdb[4];
    return {
      run({ unit, command }) {
        // A pending unit attention is reported (and cleared) as sense data (SAM-5 §5.14); otherwise a
        // not-ready condition (sanitize in progress with its progress indication, no medium; SPC-4 §6.39).
        const pending = unit.unitAttentions.take(command.nexus.id);
        const sense = pending === undefined ? unit.notReady() ?? senseFailure('no-sense') : senseFailure(pending);
        return goodData(buildSense(sense), allocationLength);
      },
    };
  },
});

export const testUnitReady = defineOpcode({
  name: 'TEST UNIT READY',
  opcode: 0x00,
  cdbLength: 6,
  usageBits: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  access: 'none',
  parse: () => ({ run: () => good() }),
});
