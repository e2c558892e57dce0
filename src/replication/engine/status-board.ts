/**
 * The pairs' status as every system sees the same numbers: the current source publishes its status
 * (with a TTL, so a silent source reads as "lag unknown", never as a stale figure); the target and any
 * other reader take the published one. `status()` adds what the pair entry says (hand-over and
 * split-brain phases, data generation, last transfer).
 */
import { pairKeys } from '../keys.ts';
import { afterHandover, heldPhase } from '../mirror/admin-transitions.ts';
import { generationOf, type PairEntry } from '../mirror/pair-registry.ts';
import { agedStatus, copyStateOf, syncStateOf, type PairPhase, type PairStatus } from '../pair-types.ts';
import type { EngineState } from './engine-state.ts';

const STATUS_TTL_MS = 10_000;

export class StatusBoard {
  /** What the source of each pair replicated here last published. */
  private readonly remote = new Map<string, PairStatus>();

  constructor(private readonly state: EngineState) {}

  status(pairId: string): PairStatus | undefined {
    const entry = this.state.entries.get(pairId);
    const source = this.state.sources.get(pairId);
    if (source) return entry ? withEntry(source.status(), entry) : source.status();
    const remote = this.remote.get(pairId);
    if (remote && (!entry || remote.record.source.system === entry.record.source.system)) return agedStatus(entry ? withEntry(remote, entry) : remote);
    return entry ? placeholderStatus(entry, entry.record.source.system === this.state.systemName ? 'source' : 'target') : undefined;
  }

  /** Sources publish their status; replicas read it (CIM and the CLI on the peer show the same numbers). */
  async exchange(reconciled: ReadonlySet<string> = new Set()): Promise<void> {
    // A source reconciled in this pass published its status at the end of its reconcile: once a pass.
    for (const pairId of this.state.sources.keys()) if (!reconciled.has(pairId)) await this.publish(pairId);
    for (const pairId of this.state.replicas.keys()) {
      const status = await this.published(pairId);
      // Silent source (status expired): the lag is unknown, not what it was when last heard of.
      if (status) this.remote.set(pairId, { ...status, role: 'target' }); else this.remote.delete(pairId);
    }
  }

  async publish(pairId: string): Promise<void> {
    const { state } = this;
    const status = this.status(pairId);
    // Only the current source speaks for the pair (an old source that just came back does not).
    if (status && state.sources.has(pairId) && state.entries.get(pairId)?.record.source.system === state.systemName && state.connected) {
      // A status not published expires: readers then report the lag as unknown, never a stale figure.
      await state.store.set(pairKeys(pairId).status, JSON.stringify(status), { ttlMs: STATUS_TTL_MS }).catch(() => undefined);
    }
  }

  async published(pairId: string): Promise<PairStatus | undefined> {
    const text = await this.state.store.get(pairKeys(pairId).status).catch(() => null);
    if (!text) return undefined;
    try { return JSON.parse(text) as PairStatus; } catch { return undefined; }
  }

  /** The current source can fence itself and drain: it runs here, or published a status lately. */
  async sourceReachable(entry: PairEntry): Promise<boolean> {
    const { state } = this;
    if (entry.record.source.system === state.systemName) return state.sources.has(entry.record.pairId);
    const status = await this.published(entry.record.pairId);
    if (!status || status.record.source.system !== entry.record.source.system) return false;
    return state.clock.now() - Date.parse(status.updatedAt) < 3 * state.services.reconcileMs + 1000;
  }
}

/** What we can say about a pair before its source published a status. */
function placeholderStatus(entry: PairEntry, role: 'source' | 'target'): PairStatus {
  const phase: PairPhase = heldPhase(entry.admin) ?? (entry.admin === 'detached' ? 'detached' : 'initial-sync');
  return withEntry({
    pairId: entry.record.pairId, record: entry.record, role, phase,
    copyState: copyStateOf(phase), syncState: syncStateOf(phase), percentSynced: 0, replicaConsistent: false,
    generation: 0, lastShippedEpoch: 0, lastAppliedEpoch: 0, epochsBehind: 0, bytesBehind: 0, dirtyGrains: 0,
    grainBytes: 0, outOfSyncBytes: 0, rpoSeconds: 0, bytesShipped: 0, bytesResynced: 0, throughputBytesPerSecond: 0,
    lagKnown: false, updatedAt: new Date().toISOString(),
  }, entry);
}

/** The source's own status with what the pair entry adds: hand-over and split-brain phases, generation. */
function withEntry(status: PairStatus, entry: PairEntry): PairStatus {
  const overlay: PairPhase | undefined = entry.admin === 'split-brain' ? 'split-brain'
    : afterHandover(entry.admin) !== undefined ? (entry.admin as PairPhase) : undefined;
  const phase = overlay ?? status.phase;
  return {
    ...status,
    phase,
    copyState: copyStateOf(phase),
    syncState: syncStateOf(phase),
    dataGeneration: generationOf(entry),
    ...(entry.splitBrain ? { splitBrain: entry.splitBrain } : {}),
    ...(entry.lastTransfer ? { lastTransfer: entry.lastTransfer } : {}),
  };
}
