/**
 * Where pairs are written down. Redis holds the shared truth (record + administrative state, one key
 * per pair, announced on a channel so both systems reconcile); each system also keeps the pairs it
 * takes part in under its state dir, so a source restarted while Redis is down still captures writes.
 *
 * Both systems and the operator write a pair's entry, so every write is a compare-and-set: decided
 * from the entry as it is, written only if it is still that entry, decided again otherwise. Nothing
 * published concurrently is overwritten unseen (a detach while the new source adds its split-brain
 * count, an operator's mode change while a hand-over completes).
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

/** What to publish, decided from the entry as it is in Redis (fields of `changes` left out keep their value). */
export interface EntryUpdate {
  readonly record: PairRecord;
  readonly admin: AdminState;
  readonly changes?: EntryChanges;
}

export interface UpdateResult {
  /** The entry as published, or as found when the decision was to publish nothing. */
  readonly entry: PairEntry | undefined;
  readonly published: boolean;
}

/** Lost races in a row before update gives up (each loss means someone else's write landed). */
const MAX_UPDATE_ATTEMPTS = 50;

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
    return parseEntry(await this.store.get(pairKeys(pairId).config));
  }

  async allPairIds(): Promise<string[]> {
    return this.store.smembers(ALL_PAIRS_KEY);
  }

  /** Writes record and admin (and `changes`) over whatever the entry is now; see update. */
  async publish(record: PairRecord, admin: AdminState, changes: EntryChanges = {}): Promise<PairEntry> {
    return (await this.update(record.pairId, () => ({ record, admin, changes }))).entry!;
  }

  /**
   * Publishes only if the entry is still `basedOn` (same revision): for decisions taken from it.
   * Resolves undefined when it changed meanwhile (reconcile again from the new one).
   */
  async publishIfCurrent(basedOn: PairEntry, record: PairRecord, admin: AdminState, changes: EntryChanges = {}): Promise<PairEntry | undefined> {
    const result = await this.update(basedOn.record.pairId, (current) => (current?.revision === basedOn.revision ? { record, admin, changes } : undefined));
    return result.published ? result.entry : undefined;
  }

  /**
   * Read-modify-write of the pair's entry: `decide` sees the entry as it is in Redis (undefined: none)
   * and says what to publish (undefined: nothing); the result is written with the revision bumped
   * only if the entry did not change meanwhile, else `decide` runs again on the new one. A published
   * entry is announced so every system reconciles it. `decide` may throw (a refusal): nothing is written.
   */
  async update(pairId: string, decide: (current: PairEntry | undefined) => EntryUpdate | undefined): Promise<UpdateResult> {
    const key = pairKeys(pairId).config;
    // The index first: a pair listed without an entry is skipped; an entry missing from it would be lost.
    let indexed = false;
    for (let attempt = 1; ; attempt++) {
      const text = await this.store.get(key);
      const current = parseEntry(text);
      const decision = decide(current);
      if (!decision) return { entry: current, published: false };
      const changes = decision.changes ?? {};
      const merged: Record<string, unknown> = { ...current, ...changes, record: decision.record, admin: decision.admin, revision: (current?.revision ?? 0) + 1 };
      for (const [field, value] of Object.entries(changes)) if (value === null) delete merged[field];
      const entry = merged as unknown as PairEntry;
      if (!indexed) { await this.store.sadd(ALL_PAIRS_KEY, pairId); indexed = true; }
      if (await this.store.compareAndSet(key, text, JSON.stringify(entry))) {
        await this.store.publish(PAIR_EVENTS_CHANNEL, pairId);
        return { entry, published: true };
      }
      if (attempt >= MAX_UPDATE_ATTEMPTS) throw new Error(`mirror ${pairId}: its entry changed under ${attempt} attempts to update it`);
    }
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

function parseEntry(text: string | null): PairEntry | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as PairEntry;
  } catch {
    return undefined;
  }
}
