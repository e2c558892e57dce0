/** Stable LU identifiers: NAA designator and serial derived from system/target/LUN names. */
import { createHash } from 'node:crypto';

/**
 * An 8-byte NAA 3 (locally assigned, SPC-4 §7.8.6.6.4) designator as 16 hex digits: the high
 * nibble is 3, the remaining 60 bits come from a hash of the seed, so it is stable across restarts.
 */
export function deriveNaa(seed: string): string {
  const digest = createHash('sha256').update(seed).digest('hex');
  return `3${digest.slice(0, 15)}`;
}

/** A 16-character serial (VPD 0x80) derived from the seed: printable ASCII, stable across restarts. */
export function deriveSerial(seed: string): string {
  return createHash('sha256').update(`serial:${seed}`).digest('hex').slice(0, 16).toUpperCase();
}

export function identitySeed(systemName: string, targetIqn: string, lun: number): string {
  return `${systemName}/${targetIqn}/${lun}`;
}

/** Who a LUN is to initiators, from the system's config (never from where its data lives). */
export interface LunIdentity {
  /** NAA designator (VPD 0x83), 16 hex digits. */
  readonly naa: string;
  /** Unit serial number (VPD 0x80). */
  readonly serial: string;
  /** Where APTPL persistent reservations are kept; absent: in memory only (a LUN whose medium does not persist). */
  readonly persistentReservationFile?: string;
}

export interface LunIdentityInput {
  readonly systemName: string;
  readonly targetIqn: string;
  readonly lun: number;
  /** Configured serial; derived from the names when absent. */
  readonly serial?: string;
  /** Path the LUN's state files are named after (`<stateBase>.pr.json`); absent when nothing persists. */
  readonly stateBase?: string;
}

export function lunIdentity(input: LunIdentityInput): LunIdentity {
  const seed = identitySeed(input.systemName, input.targetIqn, input.lun);
  return {
    naa: deriveNaa(seed),
    serial: input.serial ?? deriveSerial(seed),
    ...(input.stateBase === undefined ? {} : { persistentReservationFile: `${input.stateBase}.pr.json` }),
  };
}
