/**
 * The replication engine of one system: runs the source side of pairs whose source LUN is here and
 * the replica side of pairs whose target LUN is here, reconciling both with the pair entries in Redis
 * (each change is announced on a channel; a periodic pass covers lost messages). Operator actions go
 * through `createMirror` and `modify`, from CIM or the CLI, on either system.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { LunView, SystemView } from '../system/view.ts';
import { logger } from '../util/log.ts';
import { PAIR_EVENTS_CHANNEL, pairKeys } from './keys.ts';
import {
  afterHandover, autoResolve, mayWriteWithoutRedis, planOperation, planResolve, sourceDuty, targetDuty, type AdminState, type PairOperation, type Plan,
} from './mirror/admin-transitions.ts';
import { DirtyMap } from './capture/dirty-map.ts';
import { systemClock, type Clock } from './clock.ts';
import { LinkTable } from './link/link-table.ts';
import { generationOf, PairRegistry, type EntryChanges, type PairEntry } from './mirror/pair-registry.ts';
import { ReplicaPair } from './mirror/replica-pair.ts';
import { SourcePair } from './mirror/source-pair.ts';
import { replicationOptions, type ReplicationOptions } from './options.ts';
import type { SplitBrainPolicy } from './mirror/admin-transitions.ts';
import type { VerifyOptions, VerifyReport } from './sync/verify.ts';
import type { KeyValueStore, ReplicationTransport, Subscription } from './transport/transport.ts';
import {
  agedStatus, copyStateOf, syncStateOf, type LunAddress, type PairPhase, type PairRecord, type PairStatus, type ReplicationMode,
} from './pair-types.ts';

export type { PairOperation } from './mirror/admin-transitions.ts';

export interface CreateMirrorRequest {
  readonly source: { readonly targetIqn: string; readonly lun: number };
  readonly target: LunAddress;
  readonly mode: ReplicationMode;
}

export interface ReplicationEngineSettings {
  readonly view: SystemView;
  /** Where the pairs, epochs and acks travel; the engine closes it on close(). */
  readonly transport: ReplicationTransport;
  readonly options?: Partial<ReplicationOptions>;
  /** How often every pair is reconciled even without an announcement. @defaultValue 2000 */
  readonly reconcileMs?: number;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
}

const STATUS_TTL_MS = 10_000;
/** A source that published no status for this long during a hand-over is taken as gone. */
const HANDOVER_SILENCE_MS = 15_000;
/** How a hand-over is named to users (status, lastTransfer). */
const HANDOVER_NAMES: Partial<Record<AdminState, string>> = { 'failing-over': 'failover', 'failing-back': 'failback', reversing: 'reverse roles' };

export class ReplicationEngine {
  readonly options: ReplicationOptions;
  /** The emulated replication link of each pair (partition, latency, rate cap, loss); clear by default. */
  readonly links: LinkTable;
  private readonly transport: ReplicationTransport;
  private readonly store: KeyValueStore;
  private subscription: Subscription | undefined;
  private readonly registry: PairRegistry;
  private readonly sources = new Map<string, SourcePair>();
  private readonly replicas = new Map<string, ReplicaPair>();
  private readonly entries = new Map<string, PairEntry>();
  private readonly remoteStatus = new Map<string, PairStatus>();
  private readonly reconciling = new Map<string, Promise<void>>();
  /** Pairs whose hand-over (fence + drain, then reverse) runs on this system. */
  private readonly handovers = new Set<string>();
  private readonly clock: Clock;
  private stopPeriodic: (() => void) | undefined;
  private closed = false;
  private readonly log = logger.child({ component: 'replication' });

  constructor(private readonly settings: ReplicationEngineSettings) {
    this.options = replicationOptions(settings.options);
    this.transport = settings.transport;
    this.clock = settings.clock ?? systemClock;
    this.store = settings.transport.store;
    this.registry = new PairRegistry(this.store, settings.view.stateDir);
    this.links = new LinkTable(settings.view.stateDir);
  }

  get systemName(): string { return this.settings.view.name; }
  /** Whether the Redis connection is up right now (health checks). */
  get redisConnected(): boolean { return this.transport.connected; }

  /**
   * Learns the pairs before any member LUN takes a write. Every member LUN is fenced first; with Redis
   * reachable the pairs' shared state decides (a source failed over meanwhile stays fenced and checks
   * its changes: see checkFencedWriter). Without Redis the local record decides: a steady writer
   * (active, fractured, suspended, failed-over DR site) writes and tracks, as the async contract says
   * (never block on Redis); a record that says the writer role was moving (failing-over, failing-back,
   * reversing) or a split brain keeps the LUN fenced until Redis is back.
   */
  async start(): Promise<void> {
    await this.links.load();
    const local = await this.registry.loadLocal();
    for (const entry of local) {
      this.entries.set(entry.record.pairId, entry);
      for (const address of [entry.record.source, entry.record.target]) {
        const lun = address.system === this.systemName ? this.settings.view.lun(address.targetIqn, address.lun) : undefined;
        if (lun && entry.admin !== 'detached') lun.writeProtected = true;
      }
    }
    await this.transport.whenConnected(5000);
    if (!this.transport.connected) {
      for (const entry of local) void this.reconcileQueued(entry.record.pairId);
    }
    this.subscription = this.transport.subscribe(PAIR_EVENTS_CHANNEL, (pairId) => void this.reconcileQueued(pairId));
    this.stopPeriodic = this.clock.every(this.settings.reconcileMs ?? 2000, () => void this.periodic());
    await this.periodic();
  }

  /** Creates the pair (source LUN on this system) and starts its initial sync. */
  async createMirror(request: CreateMirrorRequest): Promise<PairStatus> {
    const view = this.settings.view;
    const lun = view.lun(request.source.targetIqn, request.source.lun);
    if (!lun) throw new EngineError('invalid', `no LUN ${request.source.lun} on ${request.source.targetIqn} here`);
    if (request.target.system === view.name) throw new EngineError('invalid', 'the target must be on another system');
    const volumes = await this.registry.volumesOf(request.target.system);
    const target = volumes.find((v) => v.targetIqn === request.target.targetIqn.toLowerCase() && v.lun === request.target.lun)
      ?? volumes.find((v) => v.naa === request.target.naa);
    if (!target) throw new EngineError('invalid', `system ${request.target.system} has no such LUN (is it running with replication?)`);
    if (target.sizeBytes < lun.sizeBytes) throw new EngineError('invalid', `target LUN is smaller (${target.sizeBytes} < ${lun.sizeBytes})`);
    // A replica restarted blank would still look applied up to its journal's epoch: silent divergence.
    if (target.persistent === false) {
      throw new EngineError('invalid', `LUN ${target.lun} of ${target.targetIqn} on ${request.target.system} does not keep its data across a restart (backstore memory), so it cannot be a mirror target`);
    }
    for (const entry of await this.allEntries()) {
      if (entry.admin === 'detached') continue;
      const uses = [entry.record.source, entry.record.target];
      if (uses.some((u) => u.naa === lun.naa || u.naa === target.naa)) throw new EngineError('in-use', `LUN already in mirror ${entry.record.pairId}`);
    }
    const source: LunAddress = { system: view.name, targetIqn: lun.targetIqn, lun: lun.lun, naa: lun.naa };
    const targetAddress: LunAddress = { system: request.target.system, targetIqn: target.targetIqn, lun: target.lun, naa: target.naa };
    const pairId = `m-${createHash('sha256').update(`${source.system}/${source.naa}>${targetAddress.system}/${targetAddress.naa}/${Date.now()}`).digest('hex').slice(0, 12)}`;
    const record: PairRecord = { pairId, source, target: targetAddress, mode: request.mode, createdAt: new Date().toISOString() };
    const entry = await this.registry.publish(record, 'active');
    this.entries.set(pairId, entry);
    await this.reconcileQueued(pairId);
    return this.status(pairId)!;
  }

  /**
   * Operator actions; valid on either system of the pair. Returns the entry as published; the work
   * (drain, resync, the other system's part) goes on and is observed with `waitOperation`.
   */
  async modify(pairId: string, operation: PairOperation, force = false): Promise<PairEntry> {
    const entry = await this.currentEntry(pairId);
    const plan = planOperation(entry.admin, operation, { sourceReachable: await this.sourceReachable(entry), force });
    const published = await this.apply(entry, plan);
    if (operation === 'resync') await this.sources.get(pairId)?.resume();
    await this.reconcileQueued(pairId);
    return published;
  }

  /** Split brain: keep `keep`'s data; the other system resyncs the diverged grains from it. */
  async resolve(pairId: string, keep: string): Promise<PairEntry> {
    const entry = await this.currentEntry(pairId);
    const published = await this.apply(entry, planResolve(entry.admin, keep, entry.record.source.system, entry.record.target.system));
    await this.reconcileQueued(pairId);
    return published;
  }

  /** Opt-in automatic split-brain resolution for a pair (DRBD after-sb policies). */
  async setSplitBrainPolicy(pairId: string, policy: SplitBrainPolicy): Promise<PairEntry> {
    const entry = await this.currentEntry(pairId);
    const published = await this.registry.publish(entry.record, entry.admin, { splitBrainPolicy: policy });
    this.entries.set(pairId, published);
    return published;
  }

  /**
   * Resolves when the operation published as `entry` has taken effect on both systems (the new source
   * reports the expected phase at the entry's data generation); rejects with the reason otherwise.
   */
  async waitOperation(published: PairEntry, timeoutMs: number): Promise<void> {
    const pairId = published.record.pairId;
    const since = this.clock.now();
    const deadline = Date.now() + timeoutMs;
    const wantedSource = published.record.source.system;
    let sourceSeenAt = since;
    while (!this.closed && Date.now() < deadline) {
      const entry = this.transport.connected ? await this.registry.fetch(pairId).catch(() => undefined) : undefined;
      const status = entry ? await this.publishedStatus(pairId) : undefined;
      if (status) sourceSeenAt = Math.max(sourceSeenAt, Date.parse(status.updatedAt));
      if (entry && afterHandover(entry.admin) && entry.admin === published.admin && this.clock.now() - sourceSeenAt > HANDOVER_SILENCE_MS) {
        throw new Error(`${entry.record.source.system} stopped answering during ${entry.admin}; if its site is down, failover with Force (pair failover --force) makes ${entry.record.target.system} the writer without it`);
      }
      if (entry && status) {
        if (entry.admin === 'split-brain' && published.admin !== 'split-brain') throw new Error('split brain detected: resolve it with pair resolve --keep SYSTEM');
        const settled = afterHandover(published.admin);
        const goal: AdminState = settled ?? published.admin;
        const source = settled ? published.record.target.system : wantedSource;
        const current = entry.record.source.system === source && entry.admin === goal
          && (status.dataGeneration ?? 1) === generationOf(entry) && Date.parse(status.updatedAt) >= since;
        if (current && doneIn(goal, status.phase)) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`mirror ${pairId}: ${published.admin} did not complete within ${Math.round(timeoutMs / 1000)} s`);
  }

  /** Reset To Sync / Reset To Async (ModifyReplicaSynchronization 17/18): same pair, same state, new mode. */
  async setMode(pairId: string, mode: ReplicationMode): Promise<void> {
    const entry = await this.currentEntry(pairId);
    if (entry.record.mode === mode) return;
    const published = await this.registry.publish({ ...entry.record, mode }, entry.admin);
    this.entries.set(pairId, published);
    await this.reconcileQueued(pairId);
  }

  /** Online verify of a pair whose source is on this system. */
  async verify(pairId: string, options?: VerifyOptions): Promise<VerifyReport> {
    const pair = this.sources.get(pairId);
    if (!pair) throw new EngineError('invalid', `mirror ${pairId} has no source on this system`);
    return pair.verify(options);
  }

  /** Resolves true once the pair reports streaming with nothing pending (initial sync done). */
  async waitSynchronized(pairId: string, timeoutMs: number, onProgress?: (status: PairStatus) => void): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.closed) {
      const status = this.status(pairId);
      if (status) onProgress?.(status);
      if (status?.phase === 'streaming' && status.percentSynced === 100) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  pairs(): PairStatus[] {
    return [...this.entries.keys()].flatMap((id) => this.status(id) ?? []);
  }

  status(pairId: string): PairStatus | undefined {
    const entry = this.entries.get(pairId);
    const source = this.sources.get(pairId);
    if (source) return entry ? withEntry(source.status(), entry) : source.status();
    const remote = this.remoteStatus.get(pairId);
    if (remote && (!entry || remote.record.source.system === entry.record.source.system)) return agedStatus(entry ? withEntry(remote, entry) : remote);
    return entry ? placeholderStatus(entry, entry.record.source.system === this.systemName ? 'source' : 'target') : undefined;
  }

  localLunByNaa(naa: string): LunView | undefined {
    for (const target of this.settings.view.targets) {
      const lun = target.luns.find((l) => l.naa.toLowerCase() === naa.toLowerCase());
      if (lun) return lun;
    }
    return undefined;
  }

  /** A volume on another system, at least `sizeBytes` large and in no mirror (CreateElementReplica without TargetElement). */
  async findFreeRemoteVolume(sizeBytes: number): Promise<{ system: string; naa: string } | undefined> {
    const used = new Set((await this.allEntries()).filter((e) => e.admin !== 'detached').flatMap((e) => [e.record.source.naa, e.record.target.naa]));
    for (const system of (await this.registry.systems()).sort()) {
      if (system === this.systemName) continue;
      const volume = (await this.registry.volumesOf(system)).find((v) => v.sizeBytes >= sizeBytes && v.persistent !== false && !used.has(v.naa));
      if (volume) return { system, naa: volume.naa };
    }
    return undefined;
  }

  entry(pairId: string): PairEntry | undefined { return this.entries.get(pairId); }
  sourcePair(pairId: string): SourcePair | undefined { return this.sources.get(pairId); }
  replicaPair(pairId: string): ReplicaPair | undefined { return this.replicas.get(pairId); }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPeriodic?.();
    await Promise.allSettled(this.reconciling.values());
    for (const pair of this.sources.values()) await pair.close();
    for (const pair of this.replicas.values()) await pair.close();
    this.sources.clear();
    this.replicas.clear();
    await this.subscription?.close();
    await this.transport.close();
  }

  private async allEntries(): Promise<PairEntry[]> {
    const ids = await this.registry.allPairIds();
    const entries = await Promise.all(ids.map((id) => this.registry.fetch(id)));
    return entries.filter((e): e is PairEntry => e !== undefined);
  }

  private async periodic(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.transport.connected) return;
      await this.registry.registerVolumes(this.systemName, this.settings.view.targets.flatMap((t) => t.luns.map((l) => ({
        targetIqn: t.iqn, lun: l.lun, sizeBytes: l.sizeBytes, naa: l.naa, persistent: l.backstore.capabilities.persistent,
      }))));
      const ids = await this.registry.allPairIds();
      // A Redis that lost its data (no AOF, flushed) gets the pairs back from their sources.
      for (const entry of this.registry.localEntries()) {
        if (!ids.includes(entry.record.pairId) && entry.record.source.system === this.systemName) await this.registry.restore(entry);
      }
      for (const id of ids) await this.reconcileQueued(id);
      await this.exchangeStatus();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'periodic reconcile failed');
    }
  }

  /** Sources publish their status; replicas read it (CIM and the CLI on the peer show the same numbers). */
  private async exchangeStatus(): Promise<void> {
    for (const pairId of this.sources.keys()) await this.publishStatus(pairId);
    for (const pairId of this.replicas.keys()) {
      const status = await this.publishedStatus(pairId);
      // Silent source (status expired): the lag is unknown, not what it was when last heard of.
      if (status) this.remoteStatus.set(pairId, { ...status, role: 'target' }); else this.remoteStatus.delete(pairId);
    }
  }

  private async publishStatus(pairId: string): Promise<void> {
    const status = this.status(pairId);
    // Only the current source speaks for the pair (an old source that just came back does not).
    if (status && this.sources.has(pairId) && this.entries.get(pairId)?.record.source.system === this.systemName && this.transport.connected) {
      // A status not published expires: readers then report the lag as unknown, never a stale figure.
      await this.store.set(pairKeys(pairId).status, JSON.stringify(status), { ttlMs: STATUS_TTL_MS }).catch(() => undefined);
    }
  }

  private async publishedStatus(pairId: string): Promise<PairStatus | undefined> {
    const text = await this.store.get(pairKeys(pairId).status).catch(() => null);
    if (!text) return undefined;
    try { return JSON.parse(text) as PairStatus; } catch { return undefined; }
  }

  /** One reconcile per pair at a time; a request during a run queues one more run. */
  private reconcileQueued(pairId: string): Promise<void> {
    const previous = this.reconciling.get(pairId) ?? Promise.resolve();
    const run = previous.then(() => this.reconcile(pairId)).catch((err: Error) => {
      this.log.warn({ pair: pairId, err: err.message }, 'reconcile failed');
    });
    this.reconciling.set(pairId, run);
    void run.finally(() => { if (this.reconciling.get(pairId) === run) this.reconciling.delete(pairId); });
    return run;
  }

  private async reconcile(pairId: string): Promise<void> {
    if (this.closed) return;
    const fromRedis = this.transport.connected ? await this.registry.fetch(pairId).catch(() => undefined) : undefined;
    const entry = fromRedis ?? this.entries.get(pairId);
    if (!entry) return;
    this.entries.set(pairId, entry);
    const me = this.systemName;
    const { record, admin } = entry;
    const isSource = record.source.system === me;
    const isTarget = record.target.system === me;
    if (!isSource && !isTarget) return;
    if (!fromRedis && isSource && !this.sources.has(pairId) && !mayWriteWithoutRedis(admin)) {
      this.log.warn({ pair: pairId, admin }, 'Redis unreachable and the local record says the writer role was moving: the LUN stays write protected until Redis is back');
      return;
    }
    if (admin === 'detached') {
      await this.stopSource(pairId, false);
      const lun = this.settings.view.lun(isSource ? record.source.targetIqn : record.target.targetIqn, isSource ? record.source.lun : record.target.lun);
      const replica = this.replicas.get(pairId);
      if (replica) { await replica.reconcile('released'); await replica.close(); this.replicas.delete(pairId); }
      if (lun) lun.writeProtected = false;
      await this.registry.forget(pairId);
      this.entries.delete(pairId);
      return;
    }
    const previous = this.registry.localEntries().find((e) => e.record.pairId === pairId);
    if (isTarget && entry.fenced === me && fromRedis) {
      // Failed over without this system's consent (it was down or cut off): before anything else,
      // find out whether it wrote what the new source lacks (split brain).
      await this.checkFencedWriter(entry);
      return;
    }
    await this.registry.remember(entry);
    if (isTarget) await this.reconcileTarget(entry);
    else await this.reconcileSource(entry, previous === undefined);
    await this.publishStatus(pairId);
  }

  private async reconcileTarget(entry: PairEntry): Promise<void> {
    const { record, admin } = entry;
    const lun = this.settings.view.lun(record.target.targetIqn, record.target.lun);
    if (lun) lun.writeProtected = true;
    // This system was the source before the writer role moved: what it still had pending goes to
    // the new source (it resyncs those grains from its side), then it becomes the replica.
    if (this.sources.has(record.pairId)) await this.stopSource(record.pairId, true);
    if (!lun) { this.log.warn({ pair: record.pairId }, 'replica LUN not found on this system'); return; }
    let replica = this.replicas.get(record.pairId);
    if (!replica) {
      replica = new ReplicaPair({ record, lun, stateDir: this.settings.view.stateDir, transport: this.transport, clock: this.clock, options: this.options });
      this.replicas.set(record.pairId, replica);
    }
    await replica.reconcile(targetDuty(admin));
  }

  private async reconcileSource(entry: PairEntry, firstSeen: boolean): Promise<void> {
    const { record, admin } = entry;
    const duty = sourceDuty(admin);
    if (!duty) return;
    const lun = this.settings.view.lun(record.source.targetIqn, record.source.lun);
    if (!lun) { this.log.warn({ pair: record.pairId }, 'source LUN not found on this system'); return; }
    // Fence first: a source handing over accepts no write from now on.
    if (duty === 'drain') lun.writeProtected = true;
    const replica = this.replicas.get(record.pairId);
    if (replica) {
      // This system was the replica: it becomes the source (the LUN stays protected until capture runs).
      await replica.retire();
      this.replicas.delete(record.pairId);
    }
    const held = duty === 'hold' ? heldPhase(admin) : undefined;
    let pair = this.sources.get(record.pairId);
    if (!pair) {
      // A hand-over starts held, so its snapshot (grains, bytes) is taken before anything ships.
      const initialPhase = held ?? (duty === 'drain' ? 'fractured' : undefined);
      pair = new SourcePair({
        record, backstore: lun.backstore, transport: this.transport, clock: this.clock, options: this.options, link: this.links.shaper(record.pairId),
        dirtyMapPath: join(this.settings.view.stateDir, 'replication', `${record.pairId}.source.dirty`),
        ...(initialPhase ? { initialPhase } : {}),
        // Readers (the peer, CIM, waitOperation) learn a phase change now, not at the next periodic pass.
        onPhase: () => void this.publishStatus(record.pairId),
      });
      this.sources.set(record.pairId, pair);
      await pair.start(firstSeen && entry.revision === 1, await this.takeHandover(record.pairId));
    } else {
      pair.updateRecord(record);
      if (admin === 'split-brain' && (await this.completeSplitBrain(entry, pair)).admin !== 'split-brain') {
        void this.reconcileQueued(record.pairId);
        return;
      }
      const grains = await this.takeHandover(record.pairId);
      if (grains.length > 0) await pair.resyncGrains(grains);
    }
    const stopped = pair.phase === 'fractured' || pair.phase === 'suspended' || pair.phase === 'failed-over';
    if (held) {
      if (pair.phase !== held) pair.hold(held);
    } else if (duty === 'drain') {
      this.startHandover(record.pairId);
      if (stopped) void pair.resume();
    } else if (stopped) {
      await pair.resume();
    }
    // Capture is attached: writes from here on are tracked.
    if (duty !== 'drain') lun.writeProtected = false;
  }

  /**
   * The source's part of a hand-over (failing-over, reversing, failing-back): fenced, it ships
   * everything the target lacks; once the target confirmed it all, the record is reversed at a new
   * data generation and the target becomes the writable side.
   */
  private startHandover(pairId: string): void {
    if (this.handovers.has(pairId)) return;
    const pair = this.sources.get(pairId);
    if (!pair) return;
    this.handovers.add(pairId);
    const before = pair.status();
    const grains = before.dirtyGrains;
    void (async () => {
      try {
        while (!this.closed && this.sources.get(pairId) === pair) {
          const entry = this.entries.get(pairId);
          const next = entry ? afterHandover(entry.admin) : undefined;
          if (!entry || !next || entry.record.source.system !== this.systemName) return;
          if (!(await pair.drained(1000))) continue;
          const latest = await this.registry.fetch(pairId);
          if (!latest || latest.revision !== entry.revision) continue;
          const after = pair.status();
          const published = await this.registry.publish({ ...entry.record, source: entry.record.target, target: entry.record.source }, next, {
            generation: generationOf(entry) + 1,
            fenced: null,
            lastTransfer: { operation: HANDOVER_NAMES[entry.admin] ?? entry.admin, from: this.systemName, grains, bytes: after.bytesShipped - before.bytesShipped, at: new Date().toISOString() },
          });
          this.log.info({ pair: pairId, operation: entry.admin, grains, bytes: after.bytesShipped - before.bytesShipped }, 'hand-over complete: the writer role moved');
          await this.registry.remember(published);
          this.entries.set(pairId, published);
          void this.reconcileQueued(pairId);
          return;
        }
      } catch (err) {
        this.log.warn({ pair: pairId, err: (err as Error).message }, 'hand-over interrupted; retried by the next reconcile');
      } finally {
        this.handovers.delete(pairId);
      }
    })();
  }

  /**
   * This system was the writer and the pair was failed over without it (forced, or it was
   * unreachable). Its changes the new source lacks: none → it simply becomes the target; grains it
   * wrote while running → split brain (or an opt-in policy decides); grains only a crash left marked
   * (possibly changed, never confirmed) → resynced from the new source, like DRBD's crashed primary.
   */
  private async checkFencedWriter(entry: PairEntry): Promise<void> {
    const { record } = entry;
    const pairId = record.pairId;
    const me = this.systemName;
    const lun = this.settings.view.lun(record.target.targetIqn, record.target.lun);
    if (lun) lun.writeProtected = true;
    const pair = this.sources.get(pairId);
    let written: number[] = [];
    let recovered = 0;
    if (pair) {
      pair.hold('failed-over');
      written = pair.writtenUnconfirmedGrains();
      recovered = (pair.dirtyMap?.pendingCount ?? 0) - written.length;
    } else {
      recovered = await this.pendingOnDisk(pairId, lun?.sizeBytes);
    }
    await this.registry.remember(entry);
    if (written.length === 0) {
      if (recovered > 0) this.log.warn({ pair: pairId, grains: recovered }, 'grains this system may have changed before it failed are resynced from the new source (unplanned failover)');
      const published = await this.registry.publish(record, entry.admin, { fenced: null });
      this.entries.set(pairId, published);
      void this.reconcileQueued(pairId);
      return;
    }
    // The new source adds its own count (its dirty map, before it takes ours) and applies the policy.
    const changes = { [me]: written.length };
    this.log.error({ pair: pairId, changes, policy: entry.splitBrainPolicy ?? 'manual' }, 'split brain: both systems wrote while disconnected');
    const published = await this.registry.publish(record, 'split-brain', { fenced: null, splitBrain: { detectedAt: new Date().toISOString(), changes } });
    this.entries.set(pairId, published);
    void this.reconcileQueued(pairId);
  }

  /** The source's part of a split-brain report: its own changes, then the opt-in policy (default manual). */
  private async completeSplitBrain(entry: PairEntry, pair: SourcePair): Promise<PairEntry> {
    const report = entry.splitBrain;
    if (!report || report.changes[this.systemName] !== undefined) return entry;
    const changes = { ...report.changes, [this.systemName]: pair.dirtyMap?.pendingCount ?? 0 };
    let published = await this.registry.publish(entry.record, 'split-brain', { splitBrain: { ...report, changes } });
    const policy = entry.splitBrainPolicy ?? 'manual';
    const keep = autoResolve(policy, changes);
    this.log.error({ pair: entry.record.pairId, changes, policy, keep: keep ?? 'the operator decides' }, 'split brain reported');
    if (keep !== undefined) published = await this.apply(published, planResolve('split-brain', keep, entry.record.source.system, entry.record.target.system));
    this.entries.set(entry.record.pairId, published);
    return published;
  }

  private async pendingOnDisk(pairId: string, sizeBytes: number | undefined): Promise<number> {
    if (sizeBytes === undefined) return 0;
    const path = join(this.settings.view.stateDir, 'replication', `${pairId}.source.dirty`);
    const dirty = await DirtyMap.open(path, sizeBytes, this.options.grainBytes, { extentBytes: this.options.activityExtentBytes });
    const grains = dirty.pendingGrains();
    if (grains.length > 0 && this.transport.connected) await this.handOverGrains(pairId, grains);
    await dirty.forgetAll();
    await dirty.close();
    return grains.length;
  }

  private async stopSource(pairId: string, handOver: boolean): Promise<void> {
    const pair = this.sources.get(pairId);
    if (!pair) return;
    this.sources.delete(pairId);
    const dirty = pair.dirtyMap;
    if (handOver && dirty && dirty.pendingCount > 0) {
      await this.handOverGrains(pairId, dirty.pendingGrains());
      await dirty.forgetAll();
    }
    await pair.close();
  }

  /** Publishes what a plan decided (throws the refusal as an EngineError). */
  private async apply(entry: PairEntry, plan: Plan): Promise<PairEntry> {
    if (plan.kind === 'refuse') throw new EngineError('state', plan.reason);
    const { record } = entry;
    const changes: EntryChanges = {
      ...(plan.reverse ? { generation: generationOf(entry) + 1 } : {}),
      ...(plan.forced ? { fenced: record.source.system } : {}),
      ...(entry.admin === 'split-brain' && plan.admin !== 'split-brain' ? { splitBrain: null } : {}),
    };
    const next = plan.reverse ? { ...record, source: record.target, target: record.source } : record;
    const published = await this.registry.publish(next, plan.admin, changes);
    this.entries.set(record.pairId, published);
    return published;
  }

  private async currentEntry(pairId: string): Promise<PairEntry> {
    const entry = await this.registry.fetch(pairId) ?? this.entries.get(pairId);
    if (!entry || entry.admin === 'detached') throw new EngineError('invalid', `no mirror ${pairId}`);
    return entry;
  }

  /** The current source can fence itself and drain: it runs here, or published a status lately. */
  private async sourceReachable(entry: PairEntry): Promise<boolean> {
    if (entry.record.source.system === this.systemName) return this.sources.has(entry.record.pairId);
    const status = await this.publishedStatus(entry.record.pairId);
    if (!status || status.record.source.system !== entry.record.source.system) return false;
    return this.clock.now() - Date.parse(status.updatedAt) < 3 * (this.settings.reconcileMs ?? 2000) + 1000;
  }

  /**
   * Leaves grains this side changed for the pair's source to resync from its side, and announces the
   * pair so the source takes them now rather than at its next periodic pass (until then it would
   * report a replica in sync that still holds this side's changes).
   */
  private async handOverGrains(pairId: string, grains: readonly number[]): Promise<void> {
    await this.store.sadd(pairKeys(pairId).handoverGrains, ...grains.map(String));
    await this.store.publish(PAIR_EVENTS_CHANNEL, pairId).catch(() => undefined);
  }

  private async takeHandover(pairId: string): Promise<number[]> {
    if (!this.transport.connected) return [];
    const key = pairKeys(pairId).handoverGrains;
    const members = await this.store.smembers(key);
    if (members.length > 0) await this.store.del(key);
    return members.map(Number).filter(Number.isSafeInteger).sort((a, b) => a - b);
  }
}

export class EngineError extends Error {
  constructor(readonly kind: 'invalid' | 'in-use' | 'state', message: string) {
    super(message);
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

/** The SourcePair phase a holding admin state keeps (split brain: the production side keeps tracking). */
function heldPhase(admin: AdminState): Extract<PairPhase, 'fractured' | 'suspended' | 'failed-over'> | undefined {
  if (admin === 'fractured' || admin === 'suspended' || admin === 'failed-over') return admin;
  if (admin === 'split-brain') return 'failed-over';
  return undefined;
}

/** Whether the new source's phase means the operation that led to `admin` is done. */
function doneIn(admin: AdminState, phase: PairPhase): boolean {
  switch (admin) {
    case 'active': return phase === 'streaming';
    case 'failed-over': return phase === 'failed-over';
    case 'fractured': case 'suspended': return phase === admin;
    case 'split-brain': return phase === 'split-brain';
    default: return false;
  }
}
