/**
 * START STOP UNIT (SBC-3 §5.25) and PREVENT ALLOW MEDIUM REMOVAL (SBC-3 §5.13). The medium is not
 * removable (RMB=0), so neither changes what the LU serves; PREVENT state is tracked per nexus and
 * cleared by resets and nexus loss.
 */
import { defineOpcode, good } from '../opcode.ts';
import { invalidCdbField } from '../sense.ts';

export const startStopUnit = defineOpcode({
  name: 'START STOP UNIT',
  opcode: 0x1b,
  cdbLength: 6,
  usageBits: [0x1b, 0x01, 0x00, 0x0f, 0xf7, 0x00],
  parse(cdb) {
    const powerCondition = cdb[4] >> 4;
    // 0 = START_VALID; 1 active, 2 idle, 3 standby; 7 LU control, 0xa/0xb force idle/standby
    if (![0, 1, 2, 3, 7, 0xa, 0xb].includes(powerCondition)) return invalidCdbField(4, 7);
    return { run: () => good() };
  },
});

export const preventAllowMediumRemoval = defineOpcode({
  name: 'PREVENT ALLOW MEDIUM REMOVAL',
  opcode: 0x1e,
  cdbLength: 6,
  usageBits: [0x1e, 0x00, 0x00, 0x00, 0x03, 0x00],
  parse(cdb) {
    const prevent = cdb[4] & 0x03;
    return {
      run({ unit, command }) {
        if (prevent === 0) unit.preventingNexuses.delete(command.nexus.id);
        else unit.preventingNexuses.add(command.nexus.id);
        return good();
      },
    };
  },
});
