/**
 * The replication engine of one system, as operators and the composition root see it: start/close,
 * the operator actions (create, modify, resolve, policy, mode, verify) valid on either system of a
 * pair, and the pairs' status. The work behind it lives in src/replication/engine/: the reconcile loop
 * (reconciler.ts), status publishing (status-board.ts), hand-over of the writer role (handover.ts),
 * split-brain fencing (split-brain.ts) and the admin-state table (mirror/admin-transitions.ts).
 */
import { createHash } from 'node:crypto';
import type { LunView, SystemView } from '../system/view.ts';
import { systemClock, type Clock } from './clock.ts';
import { EngineState } from './engine/engine-state.ts';
import { waitOperation, waitSynchronized } from './engine/operation-wait.ts';
import { EngineError } from './engine/engine-error.ts';
import { publishPlan } from './engine/publish-plan.ts';
import { Reconciler } from './engine/reconciler.ts';
import { StatusBoard } from './engine/status-board.ts';
import { PAIR_EVENTS_CHANNEL } from './keys.ts';
import { LinkTable } from './link/link-table.ts';
import { planOperation, planResolve, type PairOperation, type SplitBrainPolicy } from './mirror/admin-transitions.ts';
import { PairRegistry, type PairEntry } from './mirror/pair-registry.ts';
import type { ReplicaPair } from './mirror/replica-pair.ts';
import type { SourcePair } from './mirror/source-pair.ts';
import { replicationOptions, type ReplicationOptions } from './options.ts';
import type { LunAddress, PairRecord, PairStatus, ReplicationMode } from './pair-types.ts';
import { ReplicaLiveness } from './pipeline/replica-liveness.ts';
import type { VerifyOptions, VerifyReport } from './sync/verify.ts';
import type { ReplicationTransport, Subscription } from './transport/transport.ts';

export type { PairOperation } from './mirror/admin-transitions.ts';
export { EngineError } from './engine/engine-error.ts';

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

export class ReplicationEngine {
  readonly options: ReplicationOptions;
  /** The emulated replication link of each pair (partition, latency, rate cap, loss); clear by default. */
  readonly links: LinkTable;
  private readonly state: EngineState;
  private readonly board: StatusBoard;
  private readonly reconciler: Reconciler;
  private subscription: Subscription | undefined;
  private stopPeriodic: (() => void) | undefined;

  constructor(private readonly settings: ReplicationEngineSettings) {
    this.options = replicationOptions(settings.options);
    this.links = new LinkTable(settings.view.stateDir);
    const clock = settings.clock ?? systemClock;
    this.state = new EngineState({
      view: settings.view,
      transport: settings.transport,
      clock,
      options: this.options,
      registry: new PairRegistry(settings.transport.store, settings.view.stateDir),
      links: this.links,
      reconcileMs: settings.reconcileMs ?? 2000,
      liveness: new ReplicaLiveness(settings.transport.store, settings.view.name, clock, this.options.probeIntervalMs),
    });
    this.board = new StatusBoard(this.state);
    this.reconciler = new Reconciler(this.state, this.board);
  }

  get systemName(): string { return this.settings.view.name; }
  /** Whether the Redis connection is up right now (health checks). */
  get redisConnected(): boolean { return this.state.connected; }

  /**
   * Learns the pairs before any member LUN takes a write. Every member LUN is fenced first; with Redis
   * reachable the pairs' shared state decides (a source failed over meanwhile stays fenced and checks
   * its changes: see engine/split-brain.ts). Without Redis the local record decides: a steady writer
   * (active, fractured, suspended, failed-over DR site) writes and tracks, as the async contract says
   * (never block on Redis); a record that says the writer role was moving (failing-over, failing-back,
   * reversing) or a split brain keeps the LUN fenced until Redis is back.
   */
  async start(): Promise<void> {
    const { state, reconciler } = this;
    await this.links.load();
    const local = await state.registry.loadLocal();
    for (const entry of local) {
      state.entries.set(entry.record.pairId, entry);
      for (const address of [entry.record.source, entry.record.target]) {
        const lun = state.lunAt(address);
        if (lun && entry.admin !== 'detached') lun.writeProtected = true;
      }
    }
    const transport = this.settings.transport;
    await transport.whenConnected(5000);
    if (!transport.connected) {
      for (const entry of local) void reconciler.queue(entry.record.pairId);
    }
    this.subscription = transport.subscribe(PAIR_EVENTS_CHANNEL, (pairId) => void reconciler.queue(pairId));
    this.stopPeriodic = state.clock.every(state.services.reconcileMs, () => void reconciler.periodic());
    await reconciler.periodic();
  }

  /** Creates the pair (source LUN on this system) and starts its initial sync. */
  async createMirror(request: CreateMirrorRequest): Promise<PairStatus> {
    const { state } = this;
    const view = this.settings.view;
    const lun = view.lun(request.source.targetIqn, request.source.lun);
    if (!lun) throw new EngineError('invalid', `no LUN ${request.source.lun} on ${request.source.targetIqn} here`);
    if (request.target.system === view.name) throw new EngineError('invalid', 'the target must be on another system');
    const volumes = await state.registry.volumesOf(request.target.system);
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
    const entry = await state.registry.publish(record, 'active');
    state.entries.set(pairId, entry);
    await this.reconciler.queue(pairId);
    return this.status(pairId)!;
  }

  /**
   * Operator actions; valid on either system of the pair. Returns the entry as published; the work
   * (drain, resync, the other system's part) goes on and is observed with `waitOperation`.
   */
  async modify(pairId: string, operation: PairOperation, force = false): Promise<PairEntry> {
    const entry = await this.currentEntry(pairId);
    const sourceReachable = await this.board.sourceReachable(entry);
    const published = await publishPlan(this.state, entry, (current) => planOperation(current.admin, operation, { sourceReachable, force }));
    if (operation === 'resync') await this.state.sources.get(pairId)?.resume();
    await this.reconciler.queue(pairId);
    return published;
  }

  /** Split brain: keep `keep`'s data; the other system resyncs the diverged grains from it. */
  async resolve(pairId: string, keep: string): Promise<PairEntry> {
    const entry = await this.currentEntry(pairId);
    const published = await publishPlan(this.state, entry, (current) => planResolve(current.admin, keep, current.record.source.system, current.record.target.system));
    await this.reconciler.queue(pairId);
    return published;
  }

  /** Opt-in automatic split-brain resolution for a pair (DRBD after-sb policies). */
  async setSplitBrainPolicy(pairId: string, policy: SplitBrainPolicy): Promise<PairEntry> {
    const entry = await this.currentEntry(pairId);
    const { entry: published } = await this.state.registry.update(pairId, (current) => {
      const latest = current ?? entry;
      return { record: latest.record, admin: latest.admin, changes: { splitBrainPolicy: policy } };
    });
    this.state.entries.set(pairId, published!);
    return published!;
  }

  /**
   * Resolves when the operation published as `entry` has taken effect on both systems (the new source
   * reports the expected phase at the entry's data generation); rejects with the reason otherwise.
   */
  waitOperation(published: PairEntry, timeoutMs: number): Promise<void> {
    return waitOperation(this.state, this.board, published, timeoutMs);
  }

  /** Reset To Sync / Reset To Async (ModifyReplicaSynchronization 17/18): same pair, same state, new mode. */
  async setMode(pairId: string, mode: ReplicationMode): Promise<void> {
    const entry = await this.currentEntry(pairId);
    if (entry.record.mode === mode) return;
    const { entry: published } = await this.state.registry.update(pairId, (current) => {
      const latest = current ?? entry;
      return latest.record.mode === mode ? undefined : { record: { ...latest.record, mode }, admin: latest.admin };
    });
    if (published) this.state.entries.set(pairId, published);
    await this.reconciler.queue(pairId);
  }

  /** Online verify of a pair whose source is on this system. */
  async verify(pairId: string, options?: VerifyOptions): Promise<VerifyReport> {
    const pair = this.state.sources.get(pairId);
    if (!pair) throw new EngineError('invalid', `mirror ${pairId} has no source on this system`);
    return pair.verify(options);
  }

  /** Resolves true once the pair reports streaming with nothing pending (initial sync done). */
  waitSynchronized(pairId: string, timeoutMs: number, onProgress?: (status: PairStatus) => void): Promise<boolean> {
    return waitSynchronized(this.state, (id) => this.status(id), pairId, timeoutMs, onProgress);
  }

  pairs(): PairStatus[] {
    return [...this.state.entries.keys()].flatMap((id) => this.status(id) ?? []);
  }

  status(pairId: string): PairStatus | undefined {
    return this.board.status(pairId);
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
    const { registry } = this.state;
    const used = new Set((await this.allEntries()).filter((e) => e.admin !== 'detached').flatMap((e) => [e.record.source.naa, e.record.target.naa]));
    for (const system of (await registry.systems()).sort()) {
      if (system === this.systemName) continue;
      const volume = (await registry.volumesOf(system)).find((v) => v.sizeBytes >= sizeBytes && v.persistent !== false && !used.has(v.naa));
      if (volume) return { system, naa: volume.naa };
    }
    return undefined;
  }

  entry(pairId: string): PairEntry | undefined { return this.state.entries.get(pairId); }
  sourcePair(pairId: string): SourcePair | undefined { return this.state.sources.get(pairId); }
  replicaPair(pairId: string): ReplicaPair | undefined { return this.state.replicas.get(pairId); }

  async close(): Promise<void> {
    const { state } = this;
    state.closed = true;
    this.stopPeriodic?.();
    await this.reconciler.settled();
    for (const pair of state.sources.values()) await pair.close();
    for (const pair of state.replicas.values()) await pair.close();
    state.services.liveness.close();
    state.sources.clear();
    state.replicas.clear();
    await this.subscription?.close();
    await this.settings.transport.close();
  }

  private async allEntries(): Promise<PairEntry[]> {
    const { registry } = this.state;
    const ids = await registry.allPairIds();
    const entries = await Promise.all(ids.map((id) => registry.fetch(id)));
    return entries.filter((e): e is PairEntry => e !== undefined);
  }

  private async currentEntry(pairId: string): Promise<PairEntry> {
    const entry = await this.state.registry.fetch(pairId) ?? this.state.entries.get(pairId);
    if (!entry || entry.admin === 'detached') throw new EngineError('invalid', `no mirror ${pairId}`);
    return entry;
  }
}
