/**
 * Brings this system's side of each pair in line with the pair's entry: the source side (ship, hold or
 * drain), the target side (apply, paused, fenced, released), detach, and the periodic pass that covers
 * lost announcements, registers this system's volumes and puts back pairs a Redis that lost its data
 * forgot. One reconcile per pair at a time; a request during a run queues one more run.
 */
import { mayWriteWithoutRedis, heldPhase, sourceDuty, targetDuty } from '../mirror/admin-transitions.ts';
import type { PairEntry } from '../mirror/pair-registry.ts';
import { ReplicaPair } from '../mirror/replica-pair.ts';
import { SourcePair } from '../mirror/source-pair.ts';
import type { EngineState } from './engine-state.ts';
import { Handover } from './handover.ts';
import { SplitBrainGuard } from './split-brain.ts';
import type { StatusBoard } from './status-board.ts';

/**
 * A source looks for grains handed over to it at every reconcile an announcement or an entry change
 * brings (the side giving them announces the pair), and at every this-many periodic passes otherwise
 * (an announcement lost in an outage): an idle pair's pass then reads nothing for it.
 */
const HANDOVER_SWEEP_EVERY = 5;

export class Reconciler {
  private readonly running = new Map<string, Promise<void>>();
  /**
   * Pairs between two other systems. A pair's two systems never change (failover and reverse swap
   * them), so the periodic pass leaves these alone: without that every system read every pair's entry
   * every pass, a cost growing with pairs × systems. Their announcements still reach reconcile().
   */
  private readonly strangers = new Set<string>();
  private passes = 0;
  private readonly handover: Handover;
  private readonly splitBrain: SplitBrainGuard;

  constructor(private readonly state: EngineState, private readonly board: StatusBoard) {
    const requeue = (pairId: string): void => void this.queue(pairId);
    this.handover = new Handover(state, requeue);
    this.splitBrain = new SplitBrainGuard(state, this.handover, requeue);
  }

  /**
   * Reconciles the pair after any reconcile of it under way. `handover`: whether its source looks for
   * handed-over grains even when the entry did not change (false only for most periodic passes).
   */
  queue(pairId: string, handover = true): Promise<void> {
    const previous = this.running.get(pairId) ?? Promise.resolve();
    const run = previous.then(() => this.reconcile(pairId, handover)).catch((err: Error) => {
      this.state.log.warn({ pair: pairId, err: err.message }, 'reconcile failed');
    });
    this.running.set(pairId, run);
    void run.finally(() => { if (this.running.get(pairId) === run) this.running.delete(pairId); });
    return run;
  }

  /** Resolves once every reconcile started so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.running.values());
  }

  /** The periodic pass (also run once at start). */
  async periodic(): Promise<void> {
    const { state } = this;
    if (state.closed) return;
    try {
      if (!state.connected) return;
      const sweep = ++this.passes % HANDOVER_SWEEP_EVERY === 0;
      const view = state.services.view;
      await state.registry.registerVolumes(state.systemName, view.targets.flatMap((t) => t.luns.map((l) => ({
        targetIqn: t.iqn, lun: l.lun, sizeBytes: l.sizeBytes, naa: l.naa, persistent: l.backstore.capabilities.persistent,
      }))));
      const ids = await state.registry.allPairIds();
      // A Redis that lost its data (no AOF, flushed) gets the pairs back from their sources.
      for (const entry of state.registry.localEntries()) {
        if (!ids.includes(entry.record.pairId) && entry.record.source.system === state.systemName) await state.registry.restore(entry);
      }
      const known = new Set(ids);
      for (const id of this.strangers) if (!known.has(id)) this.strangers.delete(id);
      const reconciled = new Set<string>();
      for (const id of ids) {
        if (this.strangers.has(id)) continue;
        await this.queue(id, sweep);
        reconciled.add(id);
      }
      // The sources reconciled above published their status as they ended.
      await this.board.exchange(reconciled);
    } catch (err) {
      state.log.debug({ err: (err as Error).message }, 'periodic reconcile failed');
    }
  }

  private async reconcile(pairId: string, handover: boolean): Promise<void> {
    const { state } = this;
    if (state.closed) return;
    const fromRedis = state.connected ? await state.registry.fetch(pairId).catch(() => undefined) : undefined;
    const known = state.entries.get(pairId);
    const entry = fromRedis ?? known;
    if (!entry) return;
    const lookForHandover = handover || known?.revision !== entry.revision;
    state.entries.set(pairId, entry);
    const me = state.systemName;
    const { record, admin } = entry;
    const isSource = record.source.system === me;
    const isTarget = record.target.system === me;
    if (!isSource && !isTarget) {
      if (fromRedis) this.strangers.add(pairId);
      return;
    }
    if (!fromRedis && isSource && !state.sources.has(pairId) && !mayWriteWithoutRedis(admin)) {
      state.log.warn({ pair: pairId, admin }, 'Redis unreachable and the local record says the writer role was moving: the LUN stays write protected until Redis is back');
      return;
    }
    if (admin === 'detached') {
      await this.detach(entry, isSource);
      return;
    }
    const previous = state.registry.localEntries().find((e) => e.record.pairId === pairId);
    if (isTarget && entry.fenced === me && fromRedis) {
      // Failed over without this system's consent (it was down or cut off): before anything else,
      // find out whether it wrote what the new source lacks (split brain).
      await this.splitBrain.checkFencedWriter(entry);
      return;
    }
    await state.registry.remember(entry);
    if (isTarget) await this.reconcileTarget(entry);
    else await this.reconcileSource(entry, previous === undefined, lookForHandover);
    await this.board.publish(pairId);
  }

  private async detach(entry: PairEntry, isSource: boolean): Promise<void> {
    const { state } = this;
    const { record } = entry;
    const pairId = record.pairId;
    await this.stopSource(pairId, false);
    const lun = state.lunAt(isSource ? record.source : record.target);
    const replica = state.replicas.get(pairId);
    if (replica) { await replica.reconcile('released'); await replica.close(); state.replicas.delete(pairId); }
    if (lun) lun.writeProtected = false;
    await state.registry.forget(pairId);
    state.entries.delete(pairId);
  }

  private async reconcileTarget(entry: PairEntry): Promise<void> {
    const { state } = this;
    const { record, admin } = entry;
    const lun = state.lunAt(record.target);
    if (lun) lun.writeProtected = true;
    // This system was the source before the writer role moved: what it still had pending goes to
    // the new source (it resyncs those grains from its side), then it becomes the replica.
    if (state.sources.has(record.pairId)) await this.stopSource(record.pairId, true);
    if (!lun) { state.log.warn({ pair: record.pairId }, 'replica LUN not found on this system'); return; }
    let replica = state.replicas.get(record.pairId);
    if (!replica) {
      const { view, transport, clock, options, liveness } = state.services;
      replica = new ReplicaPair({ record, lun, stateDir: view.stateDir, transport, clock, options, liveness });
      state.replicas.set(record.pairId, replica);
    }
    await replica.reconcile(targetDuty(admin));
  }

  private async reconcileSource(entry: PairEntry, firstSeen: boolean, lookForHandover: boolean): Promise<void> {
    const { state } = this;
    const { record, admin } = entry;
    const duty = sourceDuty(admin);
    if (!duty) return;
    const lun = state.lunAt(record.source);
    if (!lun) { state.log.warn({ pair: record.pairId }, 'source LUN not found on this system'); return; }
    // Fence first: a source handing over accepts no write from now on.
    if (duty === 'drain') lun.writeProtected = true;
    const replica = state.replicas.get(record.pairId);
    if (replica) {
      // This system was the replica: it becomes the source (the LUN stays protected until capture runs).
      await replica.retire();
      state.replicas.delete(record.pairId);
    }
    const held = duty === 'hold' ? heldPhase(admin) : undefined;
    let pair = state.sources.get(record.pairId);
    if (!pair) {
      // A hand-over starts held, so its snapshot (grains, bytes) is taken before anything ships.
      const initialPhase = held ?? (duty === 'drain' ? 'fractured' : undefined);
      const { transport, clock, options, links } = state.services;
      pair = new SourcePair({
        record, backstore: lun.backstore, transport, clock, options, link: links.shaper(record.pairId),
        dirtyMapPath: state.dirtyMapPath(record.pairId),
        ...(initialPhase ? { initialPhase } : {}),
        // Readers (the peer, CIM, waitOperation) learn a phase change now, not at the next periodic pass.
        onPhase: () => void this.board.publish(record.pairId),
      });
      state.sources.set(record.pairId, pair);
      await pair.start(firstSeen && entry.revision === 1, await this.handover.take(record.pairId));
    } else {
      pair.updateRecord(record);
      if (admin === 'split-brain' && (await this.splitBrain.complete(entry, pair)).admin !== 'split-brain') {
        void this.queue(record.pairId);
        return;
      }
      const grains = lookForHandover ? await this.handover.take(record.pairId) : [];
      if (grains.length > 0) await pair.resyncGrains(grains);
    }
    const stopped = pair.phase === 'fractured' || pair.phase === 'suspended' || pair.phase === 'failed-over';
    if (held) {
      if (pair.phase !== held) pair.hold(held);
    } else if (duty === 'drain') {
      this.handover.start(record.pairId);
      if (stopped) void pair.resume();
    } else if (stopped) {
      await pair.resume();
    }
    // Capture is attached: writes from here on are tracked.
    if (duty !== 'drain') lun.writeProtected = false;
  }

  private async stopSource(pairId: string, handOver: boolean): Promise<void> {
    const { state } = this;
    const pair = state.sources.get(pairId);
    if (!pair) return;
    state.sources.delete(pairId);
    const dirty = pair.dirtyMap;
    if (handOver && dirty && dirty.pendingCount > 0) {
      await this.handover.give(pairId, dirty.pendingGrains());
      await dirty.forgetAll();
    }
    await pair.close();
  }
}
