/**
 * The source side of one mirror pair and its phases: initial sync → streaming; streaming → ahead (link
 * down, replica stalled or too much in flight: dirty map only, the initiator never waits); ahead →
 * resyncing → streaming once a probe finds the link up; held (fractured, suspended, failed over,
 * detached) until resumed. Change capture feeds epochs to the shipping path; the lag figures come from
 * the ShippingLedger, sync-mode writes wait in SyncWaiters.
 */
import type { ObservableBackstore } from '../../storage/backstore.ts';
import { logger } from '../../util/log.ts';
import type { AckMessage } from '../apply/epoch-applier.ts';
import { ChangeCapture } from '../capture/change-capture.ts';
import { DirtyMap } from '../capture/dirty-map.ts';
import type { SealedEpoch } from '../capture/open-epoch.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { ReplicationOptions } from '../options.ts';
import {
  copyStateOf, syncStateOf, type PairPhase, type PairRecord, type PairStatus,
} from '../pair-types.ts';
import { AckListener } from '../pipeline/ack-listener.ts';
import { EpochShipper } from '../pipeline/epoch-shipper.ts';
import type { LinkShaper } from '../link/link-shaper.ts';
import { shapedShipper, type ShippingPath } from '../link/shaped-shipper.ts';
import { encodePayload, encodeSlabPayload } from '../pipeline/payload.ts';
import { markAllocated } from '../sync/initial-sync.ts';
import type { ReplicationTransport } from '../transport/transport.ts';
import { verifyPair, type VerifyOptions, type VerifyReport } from '../sync/verify.ts';
import { ProgressSignal } from './progress-signal.ts';
import { runResyncPasses } from './resync-passes.ts';
import { ShippingLedger } from './shipping-ledger.ts';
import { SyncWaiters } from './sync-waiters.ts';

export interface SourcePairSettings {
  readonly record: PairRecord;
  readonly backstore: ObservableBackstore;
  /** Path of the persisted dirty map. */
  readonly dirtyMapPath: string;
  readonly transport: ReplicationTransport;
  readonly options: ReplicationOptions;
  /** Phase to come back in after a restart (an operator's fracture/suspend survives restarts). */
  readonly initialPhase?: PairPhase;
  /** Called whenever the phase changes. */
  readonly onPhase?: (phase: PairPhase) => void;
  /** The emulated replication link the pair ships through (src/replication/link); none: direct. */
  readonly link?: LinkShaper;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
}

const HELD_PHASES: readonly PairPhase[] = ['fractured', 'suspended', 'failed-over', 'detached'];

export class SourcePair {
  private phaseValue: PairPhase = 'initial-sync';
  private dirty: DirtyMap | undefined;
  private capture: ChangeCapture | undefined;
  private readonly shipper: ShippingPath;
  private readonly acks: AckListener;
  private generation = 0;
  private readonly ledger = new ShippingLedger();
  private readonly syncWaiters = new SyncWaiters();
  /** Notified on every ack and phase change (drained, waitForRoom). */
  private readonly progress = new ProgressSignal();
  private readonly clock: Clock;
  private lastProgressAt: number;
  /** Last time the replica held every acknowledged write (CIM WhenSynced). */
  private whenSynced: number | undefined;
  private resyncRunning = false;
  private stopWatchdog: (() => void) | undefined;
  /** Grains found dirty on disk at start (a crash's activity log): possibly changed, not known written. */
  private recovered = new Set<number>();
  private closed = false;
  /** The pair as last reconciled (the mode can change while the pair runs). */
  private record: PairRecord;
  private readonly log = logger.child({ component: 'replication', role: 'source' });

  constructor(private readonly settings: SourcePairSettings) {
    this.clock = settings.clock ?? systemClock;
    this.lastProgressAt = this.clock.now();
    const direct = new EpochShipper(settings.record.pairId, settings.record.target.system, settings.transport, settings.options);
    this.shipper = settings.link ? shapedShipper(direct, settings.link) : direct;
    this.acks = new AckListener(settings.record.pairId, settings.transport, (ack) => this.onAck(ack), this.clock);
    this.record = settings.record;
  }

  /** Reset To Sync / Reset To Async: writes from now on wait for the replica (sync) or not (async). */
  updateRecord(record: PairRecord): void {
    if (record.mode !== this.record.mode) this.log.info({ pair: this.pairId, mode: record.mode }, 'mirror mode changed');
    this.record = record;
    if (this.capture) this.capture.syncMode = record.mode === 'sync';
  }

  get pairId(): string { return this.settings.record.pairId; }
  get phase(): PairPhase { return this.phaseValue; }
  get dirtyMap(): DirtyMap | undefined { return this.dirty; }

  /** Opens the dirty map, hooks the LUN and starts the initial sync (new pair) or a resync (restart). */
  async start(isNew: boolean, extraGrains: readonly number[] = []): Promise<void> {
    const { backstore, options } = this.settings;
    this.dirty = await DirtyMap.open(this.settings.dirtyMapPath, backstore.sizeBytes, options.grainBytes, {
      extentBytes: options.activityExtentBytes, cleanPersistMs: options.cleanPersistMs, lookahead: options.activityLookahead,
    });
    this.recovered = new Set(this.dirty.pendingGrains());
    this.capture = new ChangeCapture(backstore, this.dirty, options, {
      sealed: (epoch) => this.onSealed(epoch),
      waitForReplica: (epoch) => this.waitForReplica(epoch),
    });
    this.capture.syncMode = this.record.mode === 'sync';
    this.capture.attach();
    this.acks.start(options.probeIntervalMs);
    this.stopWatchdog = this.clock.every(options.probeIntervalMs, () => this.tick());
    for (const grain of extraGrains) await this.dirty.mark(grain * this.dirty.grainBytes, this.dirty.grainBytes, 0);
    const held = this.settings.initialPhase && HELD_PHASES.includes(this.settings.initialPhase) ? this.settings.initialPhase : undefined;
    if (held) { this.setPhase(held); return; }
    // A medium that did not outlive the restart (a memory LUN comes back blank) is synced like a new
    // pair, holes included, or the replica would keep blocks the source no longer has.
    const initial = isNew || !backstore.capabilities.persistent;
    if (initial) await markAllocated(backstore, this.dirty);
    void this.startResync(initial ? 'initial-sync' : 'resyncing');
  }

  /** Operator: stop shipping but keep tracking (Fracture / Suspend). */
  hold(phase: 'fractured' | 'suspended' | 'failed-over' | 'detached'): void {
    this.capture?.stopStreaming();
    this.syncWaiters.releaseAll();
    this.setPhase(phase);
  }

  /** Operator: Resume / Resync Replica. */
  async resume(): Promise<void> {
    if (this.phaseValue === 'streaming' || this.resyncRunning) return;
    await this.startResync('resyncing');
  }

  /** Marks grains the replica may differ in (verify divergence, failback) and resyncs them. */
  async resyncGrains(grains: readonly number[]): Promise<void> {
    const dirty = this.dirty;
    if (!dirty) return;
    for (const grain of grains) await dirty.mark(grain * dirty.grainBytes, dirty.grainBytes, 0);
    if (!HELD_PHASES.includes(this.phaseValue) && !this.resyncRunning) await this.startResync('resyncing');
  }

  /**
   * Grains written through this process that the target has not confirmed (pending minus what a crash
   * left marked at start): the changes that make a split brain when the target was promoted meanwhile.
   */
  writtenUnconfirmedGrains(): number[] {
    return (this.dirty?.pendingGrains() ?? []).filter((grain) => !this.recovered.has(grain));
  }

  /** Online verify against the replica (the pair must be streaming). */
  async verify(options?: VerifyOptions): Promise<VerifyReport> {
    if (this.phaseValue !== 'streaming' || !this.dirty || !this.capture) throw new Error(`verify needs a streaming pair (now ${this.phaseValue})`);
    const capture = this.capture;
    return verifyPair({
      pairId: this.pairId,
      backstore: this.settings.backstore,
      dirty: this.dirty,
      store: this.settings.transport.store,
      reserveEpoch: () => capture.reserveEpoch(),
      shipEpoch: (epoch, payload) => this.ship(epoch, payload, Date.now(), 0),
      resyncGrains: (grains) => this.resyncGrains(grains),
    }, options);
  }

  /** Seals the open epoch so everything written so far is on its way; returns the last epoch number. */
  flushEpoch(): number {
    this.capture?.seal();
    return this.ledger.lastShipped;
  }

  /** Resolves when the replica acknowledged everything written before the call (bounded by `timeoutMs`). */
  async drained(timeoutMs: number): Promise<boolean> {
    this.capture?.seal();
    const drained = (): boolean => this.phaseValue === 'streaming' && this.ledger.inFlightEpochs === 0 && (this.dirty?.pendingCount ?? 0) === 0;
    return this.progress.until(drained, timeoutMs, () => this.closed);
  }

  /**
   * Wall-clock ms of the oldest acknowledged write the replica may not have: the first write of each
   * epoch in flight or still open, and for grains no epoch carries (fractured, ahead, waiting for a
   * resync) the dirty map's bound. Undefined when the replica holds every acknowledged write.
   */
  private oldestUnreplicatedWrite(): number | undefined {
    let oldest = this.dirty?.resyncSince;
    const open = this.capture?.openSince;
    if (open !== undefined) oldest = Math.min(oldest ?? open, open);
    const inFlight = this.ledger.oldestInFlight();
    if (inFlight !== undefined) oldest = Math.min(oldest ?? inFlight, inFlight);
    return oldest;
  }

  /** WhenSynced moves each time the replica becomes identical (nothing pending, open or in flight). */
  private noteIfIdentical(): void {
    if (this.phaseValue !== 'streaming' || this.ledger.inFlightEpochs > 0 || this.capture?.openSince !== undefined) return;
    if ((this.dirty?.pendingCount ?? 0) > 0) return;
    this.whenSynced = this.clock.now();
  }

  status(): PairStatus {
    const now = this.clock.now();
    const oldest = this.oldestUnreplicatedWrite();
    const pending = this.dirty?.pendingCount ?? 0;
    const grainBytes = this.dirty?.grainBytes ?? this.settings.options.grainBytes;
    const persistFailure = this.dirty?.persistFailure;
    const { ledger } = this;
    const target = ledger.resync;
    const percent = this.phaseValue === 'streaming' ? 100
      : target && target.totalGrains > 0 ? Math.floor((100 * target.doneGrains) / target.totalGrains) : 0;
    return {
      pairId: this.pairId,
      record: this.record,
      role: 'source',
      phase: this.phaseValue,
      copyState: copyStateOf(this.phaseValue),
      syncState: syncStateOf(this.phaseValue),
      percentSynced: Math.min(100, percent),
      replicaConsistent: this.phaseValue === 'streaming' || (this.phaseValue === 'ahead' && !ledger.resync),
      generation: this.generation,
      lastShippedEpoch: ledger.lastShipped,
      lastAppliedEpoch: ledger.acked,
      epochsBehind: Math.max(0, ledger.lastShipped - ledger.acked),
      bytesBehind: ledger.inFlightBytes + (this.phaseValue === 'streaming' ? 0 : pending * (this.dirty?.grainBytes ?? 0)),
      dirtyGrains: pending,
      grainBytes: this.settings.options.grainBytes,
      outOfSyncBytes: Math.min(this.settings.backstore.sizeBytes, pending * grainBytes),
      rpoSeconds: oldest === undefined ? 0 : Math.max(0.001, (now - oldest) / 1000),
      ...(this.whenSynced === undefined ? {} : { whenSynced: new Date(this.whenSynced).toISOString() }),
      ...(persistFailure === undefined ? {} : { dirtyMapError: persistFailure }),
      ...(this.settings.link && !this.settings.link.clear ? { link: { ...this.settings.link.conditions, description: this.settings.link.describe() } } : {}),
      bytesShipped: ledger.bytesShipped,
      bytesResynced: ledger.bytesResynced,
      throughputBytesPerSecond: ledger.rate(now),
      updatedAt: new Date(now).toISOString(),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatchdog?.();
    this.progress.notify();
    this.capture?.detach();
    this.syncWaiters.releaseAll();
    await this.acks.close();
    await this.shipper.close();
    await this.dirty?.close();
  }

  private async startResync(phase: 'initial-sync' | 'resyncing'): Promise<void> {
    if (this.resyncRunning || this.closed) return;
    this.resyncRunning = true;
    const capture = this.capture!;
    const dirty = this.dirty!;
    try {
      const previous = await this.shipper.previousGeneration();
      // What the discarded epochs carried waits for the resync, as old as their first write.
      const carried = this.oldestUnreplicatedWrite();
      this.discardInFlight();
      this.generation = Math.max(previous + 1, Date.now(), this.generation + 1);
      dirty.markAllForResync(carried);
      capture.startGeneration();
      await this.shipper.announceGeneration(this.generation);
      const grains = dirty.grainsNeedingResync();
      const progress = { lastEpoch: Number.MAX_SAFE_INTEGER, totalGrains: grains.length, doneGrains: 0 };
      this.ledger.resync = progress;
      this.setPhase(phase);
      this.lastProgressAt = this.clock.now();
      this.log.info({ pair: this.pairId, generation: this.generation, grains: grains.length, phase }, 'resync started');
      const generation = this.generation;
      const lastEpoch = await runResyncPasses({
        backstore: this.settings.backstore,
        dirty,
        chunkBytes: this.settings.options.resyncChunkBytes,
        progress,
        reserveEpoch: () => capture.reserveEpoch(),
        ship: (epoch, payload, firstWriteAt, grainCount) => this.ship(epoch, payload, firstWriteAt, grainCount),
        waitForRoom: () => this.waitForRoom(),
        cancelled: () => this.closed || generation !== this.generation || this.phaseValue !== phase,
      }, grains, phase === 'initial-sync');
      if (lastEpoch === undefined) return;
      progress.lastEpoch = lastEpoch;
      this.checkResyncDone();
    } catch (err) {
      this.goAhead(`resync interrupted: ${(err as Error).message}`);
    } finally {
      this.resyncRunning = false;
    }
  }

  private onSealed(epoch: SealedEpoch): void {
    const capture = this.capture!;
    if (this.ledger.inFlightBytes + epoch.bytes > this.settings.options.maxInFlightBytes) {
      capture.releaseSlab(epoch.slab);
      this.goAhead(`in-flight bound exceeded (${this.ledger.inFlightBytes} bytes)`);
      return;
    }
    const payload = epoch.slab ? encodeSlabPayload(epoch.extents, epoch.slab, epoch.slabUsed) : encodePayload(epoch.extents);
    // The slab goes back to the pool only once stored: after a failure the connection may still be sending it.
    this.ship(epoch.epoch, payload, epoch.firstWriteAt, 0).then(
      () => capture.releaseSlab(epoch.slab),
      (err: Error) => this.goAhead(`ship failed: ${err.message}`),
    );
  }

  private async ship(epoch: number, payload: Buffer, firstWriteAt: number, resyncGrains: number): Promise<void> {
    if (this.ledger.inFlightEpochs === 0) this.lastProgressAt = this.clock.now();
    this.ledger.sending(epoch, payload.length, firstWriteAt, resyncGrains);
    await this.shipper.ship(this.generation, epoch, payload, resyncGrains > 0);
    this.ledger.sent(payload.length, resyncGrains > 0, this.clock.now());
  }

  private onAck(ack: AckMessage): void {
    if (ack.generation !== this.generation || !this.ledger.acknowledge(ack.applied)) return;
    this.lastProgressAt = this.clock.now();
    this.dirty?.cleanUpTo(ack.applied);
    for (const grain of this.recovered) if (this.dirty?.pendingEpoch(grain) === undefined) this.recovered.delete(grain);
    this.syncWaiters.releaseUpTo(ack.applied);
    this.checkResyncDone();
    this.noteIfIdentical();
    this.progress.notify();
  }

  private checkResyncDone(): void {
    if (!this.ledger.resyncDone()) return;
    if (this.phaseValue === 'initial-sync' || this.phaseValue === 'resyncing') {
      this.log.info({ pair: this.pairId, generation: this.generation }, 'replica in sync, streaming');
      this.setPhase('streaming');
      this.noteIfIdentical();
    }
  }

  private waitForReplica(epoch: number): Promise<void> {
    if (!this.capture?.isStreaming) return Promise.resolve();
    if (epoch <= this.ledger.acked) return Promise.resolve();
    return this.syncWaiters.wait(epoch);
  }

  private async waitForRoom(): Promise<void> {
    const bound = this.settings.options.maxInFlightBytes / 2;
    const room = (): boolean => this.ledger.inFlightBytes <= bound;
    if (room()) return;
    const woken = await this.progress.until(() => room() || !this.capture?.isStreaming, this.settings.options.stallTimeoutMs, () => this.closed);
    if (room()) return;
    if (!woken) throw new Error('replica is not keeping up');
    throw new Error('pair left streaming');
  }

  /** Link down, bound exceeded or replica stalled: keep only the dirty map and probe for recovery. */
  private goAhead(reason: string): void {
    if (this.closed || HELD_PHASES.includes(this.phaseValue) || this.phaseValue === 'ahead') return;
    this.log.warn({ pair: this.pairId, reason }, 'pair goes ahead (dirty map only)');
    this.capture?.stopStreaming();
    this.syncWaiters.releaseAll();
    this.setPhase('ahead');
  }

  /** Watchdog: replica stalls (sync timeout, no acks) and recovery probes while ahead. */
  private tick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    const { stallTimeoutMs, syncTimeoutMs } = this.settings.options;
    const streamingish = this.phaseValue === 'streaming' || this.phaseValue === 'resyncing' || this.phaseValue === 'initial-sync';
    if (streamingish && this.ledger.inFlightEpochs > 0) {
      const limit = this.syncWaiters.waiting ? Math.min(syncTimeoutMs, stallTimeoutMs) : stallTimeoutMs;
      if (now - this.lastProgressAt > limit) this.goAhead('replica made no progress');
    }
    if (this.phaseValue === 'ahead' && !this.resyncRunning) {
      void this.shipper.linkUp().then((up) => {
        if (up && this.phaseValue === 'ahead') void this.startResync('resyncing');
      });
    }
  }

  /** The generation ends: what is in flight will never be acknowledged (its grains wait for the resync). */
  private discardInFlight(): void {
    const dropped = this.ledger.startGeneration();
    if (dropped.length > 0) void this.shipper.discard(this.generation, dropped);
  }

  private setPhase(phase: PairPhase): void {
    if (this.phaseValue === phase) return;
    this.phaseValue = phase;
    this.settings.onPhase?.(phase);
    this.progress.notify();
  }
}
