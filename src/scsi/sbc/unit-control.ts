/**
 * START STOP UNIT (SBC-4 §5.31) and PREVENT ALLOW MEDIUM REMOVAL (SBC-4 §5.15). On a removable LU
 * (RMB=1) LOEJ ejects (START=0) and loads (START=1) the medium: while it is out, media commands get
 * NOT READY, MEDIUM NOT PRESENT, and eject or load is refused with MEDIUM REMOVAL PREVENTED while any
 * nexus prevents removal. PREVENT state is per nexus, cleared by resets and nexus loss. On a fixed disk
 * neither changes what the LU serves.
 */
import { defineOpcode, good } from '../opcode.ts';
import { invalidCdbField, senseFailure } from '../sense.ts';

/** POWER CONDITION values SBC-4 table 117 defines; the rest are reserved (or obsolete, 5h). */
const POWER_CONDITIONS = [0, 1, 2, 3, 7, 0xa, 0xb];

export const startStopUnit = defineOpcode({
  name: 'START STOP UNIT',
  opcode: 0x1b,
  cdbLength: 6,
  servedWhenNotReady: 'without-medium',
  usageBits: [0x1b, 0x01, 0x00, 0x0f, 0xf7, 0x00],
  parse(cdb) {
    const powerCondition = cdb[4] >> 4;
    const loadEject = (cdb[4] & 0x02) !== 0;
    const start = (cdb[4] & 0x01) !== 0;
    if (!POWER_CONDITIONS.includes(powerCondition)) return invalidCdbField(4, 7);
    return {
      async run({ unit, command, target }) {
        // LOEJ and START apply only with POWER CONDITION START_VALID (0h).
        if (powerCondition !== 0 || !loadEject || !unit.removable) return good();
        // A prevented medium is locked in its drive: neither eject nor load moves it (the tray does not
        // move either way; libiscsi's PreventAllow.Eject expects both refused).
        if (unit.preventingNexuses.size > 0) return senseFailure('medium-removal-prevented');
        if (start) {
          if (!unit.mediumPresent) {
            unit.mediumPresent = true;
            unit.unitAttentions.raiseAll(target.nexusIds(), 'not-ready-to-ready-change', command.nexus.id);
          }
          return good();
        }
        if (unit.mediumPresent) {
          // What was written reaches stable storage before the medium leaves (as SYNCHRONIZE CACHE).
          await unit.backstore.flush();
          unit.mediumPresent = false;
        }
        return good();
      },
    };
  },
});

export const preventAllowMediumRemoval = defineOpcode({
  name: 'PREVENT ALLOW MEDIUM REMOVAL',
  opcode: 0x1e,
  cdbLength: 6,
  servedWhenNotReady: 'without-medium',
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
