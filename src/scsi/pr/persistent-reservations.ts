/**
 * Persistent reservation state of one LU (SPC-4 §5.12): registrations per I_T nexus, at most one
 * reservation, the PRgeneration counter, and APTPL persistence (a JSON file next to the LUN file,
 * written only while APTPL is set).
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { readStateFileSync } from '../../util/state-file.ts';
import type { OpcodeDescriptor } from '../opcode.ts';

export const enum PrType {
  WriteExclusive = 1,
  ExclusiveAccess = 3,
  WriteExclusiveRegistrantsOnly = 5,
  ExclusiveAccessRegistrantsOnly = 6,
  WriteExclusiveAllRegistrants = 7,
  ExclusiveAccessAllRegistrants = 8,
}

export const VALID_PR_TYPES: ReadonlySet<number> = new Set([1, 3, 5, 6, 7, 8]);

export interface Registration {
  readonly nexusId: string;
  readonly initiatorName: string;
  readonly isid: string;
  /** The target port (portal group) of the I_T nexus: registrations are per I_T nexus (SPC-4 §5.12.6). */
  readonly portalGroupTag: number;
  key: bigint;
}

export interface Reservation {
  /** Holder nexus; for the all-registrants types every registrant holds it (SPC-4 §5.12.11). */
  holder: string;
  type: PrType;
}

interface SavedState {
  readonly generation: number;
  readonly registrations: ReadonlyArray<{ nexusId: string; initiatorName: string; isid: string; portalGroupTag?: number; key: string }>;
  readonly reservation?: { holder: string; type: number };
}

export function isAllRegistrants(type: number): boolean {
  return type === PrType.WriteExclusiveAllRegistrants || type === PrType.ExclusiveAccessAllRegistrants;
}

function isRegistrantsType(type: number): boolean {
  return type >= PrType.WriteExclusiveRegistrantsOnly;
}

export class PersistentReservations {
  readonly registrations = new Map<string, Registration>();
  reservation: Reservation | undefined;
  generation = 0;
  aptpl = false;

  /** @param stateFile where APTPL state lives; loaded now when it exists. */
  constructor(private readonly stateFile?: string) {
    if (stateFile) this.load(stateFile);
  }

  hasRegistrations(): boolean {
    return this.registrations.size > 0;
  }

  isHolder(nexusId: string): boolean {
    const r = this.reservation;
    if (!r) return false;
    return isAllRegistrants(r.type) ? this.registrations.has(nexusId) : r.holder === nexusId;
  }

  /** Whether the command must get RESERVATION CONFLICT (SPC-4 §5.12.1, table 46 of SPC-4 r37). */
  conflicts(nexusId: string, descriptor: OpcodeDescriptor, _cdb: Buffer): boolean {
    const r = this.reservation;
    const access = descriptor.access ?? 'write';
    if (!r || access === 'none' || this.isHolder(nexusId)) return false;
    const registered = this.registrations.has(nexusId);
    switch (r.type) {
      case PrType.WriteExclusive: return access === 'write';
      case PrType.ExclusiveAccess: return true;
      case PrType.WriteExclusiveRegistrantsOnly:
      case PrType.WriteExclusiveAllRegistrants: return !registered && access === 'write';
      case PrType.ExclusiveAccessRegistrantsOnly:
      case PrType.ExclusiveAccessAllRegistrants: return !registered;
    }
  }

  /** Drops the reservation; returns the nexuses that should see RESERVATIONS RELEASED. */
  release(except: string): string[] {
    const r = this.reservation;
    this.reservation = undefined;
    if (!r || !isRegistrantsType(r.type)) return [];
    return [...this.registrations.keys()].filter((id) => id !== except);
  }

  /** Removes one registration, releasing the reservation when it was held through it. */
  unregister(nexusId: string): string[] {
    const released: string[] = [];
    this.registrations.delete(nexusId);
    const r = this.reservation;
    if (r) {
      const lastOfAll = isAllRegistrants(r.type) && this.registrations.size === 0;
      if ((!isAllRegistrants(r.type) && r.holder === nexusId) || lastOfAll) released.push(...this.release(nexusId));
    }
    return released;
  }

  bumpGeneration(): void {
    this.generation = (this.generation + 1) >>> 0;
  }

  /** Writes the state when APTPL is set, removes the file when it is not. */
  async persist(): Promise<void> {
    if (!this.stateFile) return;
    if (!this.aptpl) {
      await rm(this.stateFile, { force: true });
      return;
    }
    const state: SavedState = {
      generation: this.generation,
      registrations: [...this.registrations.values()].map((r) => ({ nexusId: r.nexusId, initiatorName: r.initiatorName, isid: r.isid, portalGroupTag: r.portalGroupTag, key: r.key.toString() })),
      reservation: this.reservation ? { holder: this.reservation.holder, type: this.reservation.type } : undefined,
    };
    const tmp = `${this.stateFile}.tmp`;
    await writeFile(tmp, JSON.stringify(state));
    await rename(tmp, this.stateFile);
  }

  private load(file: string): void {
    // No file: no saved state. An unparsable one throws (naming it): forgetting reservations silently
    // would let another initiator write where a reservation holder expects exclusivity.
    const state = readStateFileSync(file) as SavedState | undefined;
    if (!state) return;
    this.aptpl = true;
    this.generation = state.generation >>> 0;
    for (const r of state.registrations ?? []) {
      this.registrations.set(r.nexusId, { nexusId: r.nexusId, initiatorName: r.initiatorName, isid: r.isid, portalGroupTag: r.portalGroupTag ?? 1, key: BigInt(r.key) });
    }
    if (state.reservation && VALID_PR_TYPES.has(state.reservation.type)) {
      this.reservation = { holder: state.reservation.holder, type: state.reservation.type as PrType };
    }
  }
}
