/**
 * Split-brain fencing. A writer failed over without its consent (forced, or it was unreachable) checks,
 * when it sees the pair again, what it changed that the new source lacks: nothing → it simply becomes
 * the target; grains it wrote while running → split brain (or an opt-in policy decides); grains only a
 * crash left marked (possibly changed, never confirmed) → resynced from the new source, like DRBD's
 * crashed primary. The new source then adds its own count and applies the pair's policy.
 */
import { DirtyMap } from '../capture/dirty-map.ts';
import { autoResolve, planResolve } from '../mirror/admin-transitions.ts';
import type { PairEntry } from '../mirror/pair-registry.ts';
import type { SourcePair } from '../mirror/source-pair.ts';
import type { EngineState } from './engine-state.ts';
import type { Handover } from './handover.ts';
import { publishPlan } from './publish-plan.ts';

export class SplitBrainGuard {
  constructor(
    private readonly state: EngineState,
    private readonly handover: Handover,
    private readonly requeue: (pairId: string) => void,
  ) {}

  /** The fenced old writer's part (this system is the target of the reversed record). */
  async checkFencedWriter(entry: PairEntry): Promise<void> {
    const { state } = this;
    const { record } = entry;
    const pairId = record.pairId;
    const lun = state.lunAt(record.target);
    if (lun) lun.writeProtected = true;
    const pair = state.sources.get(pairId);
    let written: number[] = [];
    let recovered = 0;
    if (pair) {
      pair.hold('failed-over');
      written = pair.writtenUnconfirmedGrains();
      recovered = (pair.dirtyMap?.pendingCount ?? 0) - written.length;
    } else {
      recovered = await this.pendingOnDisk(pairId, lun?.sizeBytes);
    }
    await state.registry.remember(entry);
    if (written.length === 0) {
      if (recovered > 0) state.log.warn({ pair: pairId, grains: recovered }, 'grains this system may have changed before it failed are resynced from the new source (unplanned failover)');
      const published = await state.registry.publishIfCurrent(entry, record, entry.admin, { fenced: null });
      if (published) state.entries.set(pairId, published);
      this.requeue(pairId);
      return;
    }
    // The new source adds its own count (its dirty map, before it takes ours) and applies the policy.
    const changes = { [state.systemName]: written.length };
    state.log.error({ pair: pairId, changes, policy: entry.splitBrainPolicy ?? 'manual' }, 'split brain: both systems wrote while disconnected');
    // Only over the entry this was decided from: if the pair changed meanwhile, the requeue decides again.
    const published = await state.registry.publishIfCurrent(entry, record, 'split-brain', { fenced: null, splitBrain: { detectedAt: new Date().toISOString(), changes } });
    if (published) state.entries.set(pairId, published);
    this.requeue(pairId);
  }

  /** The source's part of a split-brain report: its own changes, then the opt-in policy (default manual). */
  async complete(entry: PairEntry, pair: SourcePair): Promise<PairEntry> {
    const { state } = this;
    const me = state.systemName;
    if (!entry.splitBrain || entry.splitBrain.changes[me] !== undefined) return entry;
    const count = pair.dirtyMap?.pendingCount ?? 0;
    // Added to the report as it is at the moment of the write: a detach or a resolution published
    // since the entry was read stands (the caller reconciles the entry returned).
    const added = await state.registry.update(entry.record.pairId, (current) => {
      const report = current?.splitBrain;
      if (current?.admin !== 'split-brain' || !report || report.changes[me] !== undefined) return undefined;
      return { record: current.record, admin: 'split-brain', changes: { splitBrain: { ...report, changes: { ...report.changes, [me]: count } } } };
    });
    let published = added.entry ?? entry;
    if (!added.published) return published;
    const changes = published.splitBrain?.changes ?? {};
    const policy = published.splitBrainPolicy ?? 'manual';
    const keep = autoResolve(policy, changes);
    state.log.error({ pair: entry.record.pairId, changes, policy, keep: keep ?? 'the operator decides' }, 'split brain reported');
    if (keep !== undefined) published = await publishPlan(state, published, (current) => planResolve(current.admin, keep, current.record.source.system, current.record.target.system));
    state.entries.set(entry.record.pairId, published);
    return published;
  }

  /** A writer that restarted after the failover: what its persisted dirty map says it may have changed. */
  private async pendingOnDisk(pairId: string, sizeBytes: number | undefined): Promise<number> {
    const { state } = this;
    if (sizeBytes === undefined) return 0;
    const { grainBytes, activityExtentBytes } = state.services.options;
    const dirty = await DirtyMap.open(state.dirtyMapPath(pairId), sizeBytes, grainBytes, { extentBytes: activityExtentBytes });
    const grains = dirty.pendingGrains();
    if (grains.length > 0 && state.connected) await this.handover.give(pairId, grains);
    await dirty.forgetAll();
    await dirty.close();
    return grains.length;
  }
}
