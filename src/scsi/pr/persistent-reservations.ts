import type { OpcodeDescriptor } from '../opcode.ts';
/** Persistent reservation state of one LU (SPC-4 §5.12). */

export class PersistentReservations {
  private readonly registrations = new Map<string, bigint>();

  /** Whether the command must get RESERVATION CONFLICT (SPC-4 §5.12.1 table 46). */
  conflicts(_nexusId: string, _descriptor: OpcodeDescriptor, _cdb: Buffer): boolean {
    return false;
  }

  hasRegistrations(): boolean {
    return this.registrations.size > 0;
  }
}
