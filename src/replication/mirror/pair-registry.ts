/**
 * Where pairs are written down. Redis holds the shared truth (record + administrative state, one key
 * per pair, announced on a channel so both systems reconcile); each system also keeps the pairs it
 * takes part in under its state dir, so a source restarted while Redis is down still captures writes.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStateFile, readStateFileSync } from '../../util/state-file.ts';
import { PAIR_EVENTS_CHANNEL, pairKeys } from '../keys.ts';
import type { PairRecord } from '../pair-types.ts';
import type { KeyValueStore } from '../transport/transport.ts';
import type { AdminState, SplitBrainPolicy } from './admin-transitions.ts';

export type { AdminState } from './admin-transitions.ts';

/** The last hand-over of the writer role: what it shipped (failback, reverse, graceful failover). */
export interface TransferReport {
  /** failover, failback or reverse roles. */
  readonly operation: string;
  /** The system that shipped. */
  readonly from: string;
  readonly grains: number;
  readonly bytes: number;
  readonly at: string;
}

export interface SplitBrainReport {
  readonly detectedAt: string;
  /** Grains each system changed that the other lacks, by system name. */
  readonly changes: Readonly<Record<string, number>>;
}

export interface PairEntry {
  readonly record: PairRecord;
  readonly admin: AdminState;
  /** Bumped on every change, so a reconcile can tell it saw the latest. */
  readonly revision: number;
  /** Data generation: bumped whenever the writable side changes (absent = 1). */
  readonly generation?: number;
  /** Set by a forced (unplanned) failover: the old writer must check its changes when it comes back. */
  readonly fenced?: string;
  readonly splitBrain?: SplitBrainReport;
  /** Opt-in automatic split-brain resolution (DRBD after-sb); absent = manual. */
  readonly splitBrainPolicy?: SplitBrainPolicy;
  readonly lastTransfer?: TransferReport;
}

/** What a publish changes besides record and admin (fields left out keep their value unless cleared). */
export interface EntryChanges {
  readonly generation?: number;
  readonly fenced?: string | null;
  readonly splitBrain?: SplitBrainReport | null;
  readonly splitBrainPolicy?: SplitBrainPolicy;
  readonly lastTransfer?: TransferReport;
}

export function generationOf(entry: PairEntry): number {
  return entry.generation ?? 1;
}

export const ALL_PAIRS_KEY = 'iscsi-sim:pairs';

export function volumesKey(system: string): string {
  return `iscsi-sim:volumes:${system}`;
}

export interface VolumeEntry {
  readonly targetIqn: string;
  readonly lun: number;
  readonly sizeBytes: number;
  readonly naa: string;
  /** False for a LUN whose content does not survive a restart (memory); absent = persistent. */
  readonly persistent?: boolean;
}

export function localPairsFile(stateDir: string): string {
  return join(stateDir, 'replication', 'pairs.json');
}

/**
 * NAA designators of the LUNs this system's pairs.json names (either role), read synchronously while
 * the system is being assembled: those LUNs start write protected, before any portal listens, until
 * the engine has learned the pairs' state (see ReplicationEngine.start). An unreadable file fences
 * every LUN (which it named is unknown); the engine's start-up then stops naming the file, and no write
 * reached a LUN uncaptured meanwhile.
 */
export function localMemberNaas(stateDir: string): Pick<ReadonlySet<string>, 'has'> {
  const naas = new Set<string>();
  let parsed: Record<string, PairEntry> | undefined;
  try {
    parsed = readStateFileSync(localPairsFile(stateDir)) as Record<string, PairEntry> | undefined;
  } catch {
    return { has: () => true };
  }
  for (const entry of Object.values(parsed ?? {})) {
    if (entry?.admin === 'detached') continue;
    for (const lun of [entry?.record?.source, entry?.record?.target]) if (lun?.naa) naas.add(lun.naa.toLowerCase());
  }
  return naas;
}

export class PairRegistry {
  private local = new Map<string, PairEntry>();
  private readonly file: string;

  constructor(private readonly store: KeyValueStore, stateDir: string) {
    this.file = localPairsFile(stateDir);
  }

  async loadLocal(): Promise<PairEntry[]> {
    // Missing: no pairs yet. Unparsable: start-up stops naming the file (pairs must not vanish silently).
    const parsed = await readStateFile(this.file) as Record<string, PairEntry> | undefined;
    this.local = new Map(Object.entries(parsed ?? {}));
    return [...this.local.values()];
  }

  localEntries(): PairEntry[] { return [...this.local.values()]; }

  async remember(entry: PairEntry): Promise<void> {
    const known = this.local.get(entry.record.pairId);
    if (known && JSON.stringify(known) === JSON.stringify(entry)) return;
    this.local.set(entry.record.pairId, entry);
    await this.saveLocal();
  }

  async forget(pairId: string): Promise<void> {
    if (this.local.delete(pairId)) await this.saveLocal();
  }

  async fetch(pairId: string): Promise<PairEntry | undefined> {
    const text = await this.store.get(pairKeys(pairId).config);
    if (!text) return undefined;
    try {
      return JSON.parse(text) as PairEntry;
    } catch {
      return undefined;
    }
  }

  async allPairIds(): Promise<string[]> {
    return this.store.smembers(ALL_PAIRS_KEY);
  }

  /** Writes the entry to Redis (revision bumped) and tells every system to reconcile it. */
  async publish(record: PairRecord, admin: AdminState, changes: EntryChanges = {}): Promise<PairEntry> {
    const previous = await this.fetch(record.pairId);
    const merged: Record<string, unknown> = { ...previous, ...changes, record, admin, revision: (previous?.revision ?? 0) + 1 };
    for (const [key, value] of Object.entries(changes)) if (value === null) delete merged[key];
    const entry = merged as unknown as PairEntry;
    await this.store.batch([
      { op: 'set', key: pairKeys(record.pairId).config, value: JSON.stringify(entry) },
      { op: 'sadd', key: ALL_PAIRS_KEY, members: [record.pairId] },
      { op: 'publish', channel: PAIR_EVENTS_CHANNEL, message: record.pairId },
    ]);
    return entry;
  }

  /** Puts an entry known locally back into Redis as it was (same revision). */
  async restore(entry: PairEntry): Promise<void> {
    await this.store.batch([
      { op: 'set', key: pairKeys(entry.record.pairId).config, value: JSON.stringify(entry), options: { ifAbsent: true } },
      { op: 'sadd', key: ALL_PAIRS_KEY, members: [entry.record.pairId] },
      { op: 'publish', channel: PAIR_EVENTS_CHANNEL, message: entry.record.pairId },
    ]);
  }

  async registerVolumes(system: string, volumes: readonly VolumeEntry[]): Promise<void> {
    if (volumes.length === 0) return;
    const fields: Record<string, string> = {};
    for (const volume of volumes) fields[volume.naa] = JSON.stringify(volume);
    await this.store.hset(volumesKey(system), fields);
    await this.store.sadd('iscsi-sim:systems', system);
  }

  async volumesOf(system: string): Promise<VolumeEntry[]> {
    const all = await this.store.hgetall(volumesKey(system));
    return Object.values(all).flatMap((text) => {
      try { return [JSON.parse(text) as VolumeEntry]; } catch { return []; }
    });
  }

  async systems(): Promise<string[]> {
    return this.store.smembers('iscsi-sim:systems');
  }

  private async saveLocal(): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const temp = `${this.file}.tmp`;
    await writeFile(temp, JSON.stringify(Object.fromEntries(this.local), null, 2));
    await rename(temp, this.file);
  }
}
