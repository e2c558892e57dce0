/**
 * The replication engine of one system: runs the source side of pairs whose source LUN is here and
 * the replica side of pairs whose target LUN is here, reconciling both with the pair entries in Redis
 * (each change is announced on a channel; a periodic pass covers lost messages). Operator actions go
 * through `createMirror` and `modify`, from CIM or the CLI, on either system.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { LunView, SystemView } from '../system/view.ts';
import { logger } from '../util/log.ts';
import { PAIR_EVENTS_CHANNEL, pairKeys } from './keys.ts';
import { PairRegistry, type AdminState, type PairEntry } from './mirror/pair-registry.ts';
import { ReplicaPair } from './mirror/replica-pair.ts';
import { SourcePair } from './mirror/source-pair.ts';
import { replicationOptions, type ReplicationOptions } from './options.ts';
import type { VerifyOptions, VerifyReport } from './sync/verify.ts';
import {
  copyStateOf, syncStateOf, type LunAddress, type PairPhase, type PairRecord, type PairStatus, type ReplicationMode,
} from './pair-types.ts';

export type PairOperation = 'fracture' | 'suspend' | 'resume' | 'resync' | 'detach' | 'failover' | 'failback' | 'reverse-roles';

export interface CreateMirrorRequest {
  readonly source: { readonly targetIqn: string; readonly lun: number };
  readonly target: LunAddress;
  readonly mode: ReplicationMode;
}

export interface ReplicationEngineSettings {
  readonly view: SystemView;
  readonly redisUrl: string;
  readonly options?: Partial<ReplicationOptions>;
  /** How often every pair is reconciled even without an announcement. @defaultValue 2000 */
  readonly reconcileMs?: number;
}

const STATUS_TTL_MS = 10_000;

export class ReplicationEngine {
  readonly options: ReplicationOptions;
  private readonly redis: Redis;
  private subscriber: Redis | undefined;
  private readonly registry: PairRegistry;
  private readonly sources = new Map<string, SourcePair>();
  private readonly replicas = new Map<string, ReplicaPair>();
  private readonly entries = new Map<string, PairEntry>();
  private readonly remoteStatus = new Map<string, PairStatus>();
  private readonly reconciling = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log = logger.child({ component: 'replication' });

  constructor(private readonly settings: ReplicationEngineSettings) {
    this.options = replicationOptions(settings.options);
    this.redis = new Redis(settings.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    this.redis.on('error', () => undefined);
    this.registry = new PairRegistry(this.redis, settings.view.stateDir);
  }

  get systemName(): string { return this.settings.view.name; }

  async start(): Promise<void> {
    // Pairs this system is source of start capturing at once, Redis or not (the dirty map needs no Redis).
    for (const entry of await this.registry.loadLocal()) {
      this.entries.set(entry.record.pairId, entry);
      void this.reconcileQueued(entry.record.pairId);
    }
    await this.waitForRedis(5000);
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, pairId: string) => void this.reconcileQueued(pairId));
    void this.subscriber.subscribe(PAIR_EVENTS_CHANNEL).catch(() => undefined);
    this.timer = setInterval(() => void this.periodic(), this.settings.reconcileMs ?? 2000);
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

  /** Operator actions; valid on either system of the pair. */
  async modify(pairId: string, operation: PairOperation): Promise<void> {
    const entry = await this.registry.fetch(pairId) ?? this.entries.get(pairId);
    if (!entry || entry.admin === 'detached') throw new EngineError('invalid', `no mirror ${pairId}`);
    const next = nextAdmin(entry, operation);
    if (next === undefined) throw new EngineError('state', `${operation} is not possible while the pair is ${entry.admin}`);
    const record = operation === 'reverse-roles' ? { ...entry.record, source: entry.record.target, target: entry.record.source } : entry.record;
    const published = await this.registry.publish(record, next);
    this.entries.set(pairId, published);
    if (operation === 'resync') await this.sources.get(pairId)?.resume();
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
    const source = this.sources.get(pairId);
    if (source) return source.status();
    const remote = this.remoteStatus.get(pairId);
    if (remote) return remote;
    const entry = this.entries.get(pairId);
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
      const volume = (await this.registry.volumesOf(system)).find((v) => v.sizeBytes >= sizeBytes && !used.has(v.naa));
      if (volume) return { system, naa: volume.naa };
    }
    return undefined;
  }

  entry(pairId: string): PairEntry | undefined { return this.entries.get(pairId); }
  sourcePair(pairId: string): SourcePair | undefined { return this.sources.get(pairId); }
  replicaPair(pairId: string): ReplicaPair | undefined { return this.replicas.get(pairId); }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled(this.reconciling.values());
    for (const pair of this.sources.values()) await pair.close();
    for (const pair of this.replicas.values()) await pair.close();
    this.sources.clear();
    this.replicas.clear();
    this.subscriber?.disconnect();
    this.redis.disconnect();
  }

  private async allEntries(): Promise<PairEntry[]> {
    const ids = await this.registry.allPairIds();
    const entries = await Promise.all(ids.map((id) => this.registry.fetch(id)));
    return entries.filter((e): e is PairEntry => e !== undefined);
  }

  private async periodic(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.redis.status !== 'ready') return;
      await this.registry.registerVolumes(this.systemName, this.settings.view.targets.flatMap((t) => t.luns.map((l) => ({
        targetIqn: t.iqn, lun: l.lun, sizeBytes: l.sizeBytes, naa: l.naa,
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
    for (const [pairId, pair] of this.sources) {
      await this.redis.set(pairKeys(pairId).status, JSON.stringify(pair.status()), 'PX', STATUS_TTL_MS);
    }
    for (const pairId of this.replicas.keys()) {
      const text = await this.redis.get(pairKeys(pairId).status);
      if (text) this.remoteStatus.set(pairId, { ...(JSON.parse(text) as PairStatus), role: 'target' });
    }
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
    const fromRedis = this.redis.status === 'ready' ? await this.registry.fetch(pairId).catch(() => undefined) : undefined;
    const entry = fromRedis ?? this.entries.get(pairId);
    if (!entry) return;
    this.entries.set(pairId, entry);
    const me = this.systemName;
    const { record, admin } = entry;
    const isSource = record.source.system === me;
    const isTarget = record.target.system === me;
    if (!isSource && !isTarget) return;
    if (admin === 'detached') {
      await this.stopSource(pairId, false);
      const replica = this.replicas.get(pairId);
      if (replica) { await replica.reconcile('detached'); await replica.close(); this.replicas.delete(pairId); }
      await this.registry.forget(pairId);
      this.entries.delete(pairId);
      return;
    }
    const known = this.registry.localEntries().some((e) => e.record.pairId === pairId);
    await this.registry.remember(entry);
    if (isTarget) await this.reconcileTarget(entry);
    else await this.reconcileSource(entry, !known);
  }

  private async reconcileTarget(entry: PairEntry): Promise<void> {
    const { record, admin } = entry;
    // This system was the source before a reverse: hand over what it changed, then become the replica.
    if (this.sources.has(record.pairId)) await this.stopSource(record.pairId, true);
    const lun = this.settings.view.lun(record.target.targetIqn, record.target.lun);
    if (!lun) { this.log.warn({ pair: record.pairId }, 'replica LUN not found on this system'); return; }
    let replica = this.replicas.get(record.pairId);
    if (!replica) {
      replica = new ReplicaPair({ record, lun, stateDir: this.settings.view.stateDir, redis: this.redis, redisUrl: this.settings.redisUrl, options: this.options });
      this.replicas.set(record.pairId, replica);
    }
    await replica.reconcile(admin);
    if (admin === 'failback-pending' || admin === 'reversing') {
      this.entries.set(record.pairId, await this.registry.publish(record, 'active'));
    }
  }

  private async reconcileSource(entry: PairEntry, firstSeen: boolean): Promise<void> {
    const { record, admin } = entry;
    const replica = this.replicas.get(record.pairId);
    if (replica) {
      // This system was the replica before a reverse: it becomes writable and the source.
      await replica.retire();
      this.replicas.delete(record.pairId);
    }
    // The other side is handing over; start once it says 'active'.
    if (admin === 'failback-pending' || admin === 'reversing') return;
    const lun = this.settings.view.lun(record.source.targetIqn, record.source.lun);
    if (!lun) { this.log.warn({ pair: record.pairId }, 'source LUN not found on this system'); return; }
    lun.writeProtected = false;
    let pair = this.sources.get(record.pairId);
    const held = heldPhase(admin);
    if (!pair) {
      pair = new SourcePair({
        record, backstore: lun.backstore, redis: this.redis, redisUrl: this.settings.redisUrl, options: this.options,
        dirtyMapPath: join(this.settings.view.stateDir, 'replication', `${record.pairId}.source.dirty`),
        ...(held ? { initialPhase: held } : {}),
      });
      this.sources.set(record.pairId, pair);
      await pair.start(firstSeen && entry.revision === 1, held ? [] : await this.takeHandover(record.pairId));
      return;
    }
    if (held) { if (pair.phase !== held) pair.hold(held); return; }
    const grains = await this.takeHandover(record.pairId);
    if (grains.length > 0) await pair.resyncGrains(grains);
    else if (pair.phase === 'fractured' || pair.phase === 'suspended' || pair.phase === 'failed-over') await pair.resume();
  }

  private async stopSource(pairId: string, handOver: boolean): Promise<void> {
    const pair = this.sources.get(pairId);
    if (!pair) return;
    this.sources.delete(pairId);
    const dirty = pair.dirtyMap;
    if (handOver && dirty && dirty.pendingCount > 0) {
      await this.redis.sadd(pairKeys(pairId).handoverGrains, ...dirty.pendingGrains().map(String));
      await dirty.forgetAll();
    }
    await pair.close();
  }

  private async takeHandover(pairId: string): Promise<number[]> {
    if (this.redis.status !== 'ready') return [];
    const key = pairKeys(pairId).handoverGrains;
    const members = await this.redis.smembers(key);
    if (members.length > 0) await this.redis.del(key);
    return members.map(Number).filter(Number.isSafeInteger).sort((a, b) => a - b);
  }

  private async waitForRedis(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.redis.once('ready', () => { clearTimeout(timer); resolve(); });
    });
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
  return {
    pairId: entry.record.pairId, record: entry.record, role, phase,
    copyState: copyStateOf(phase), syncState: syncStateOf(phase), percentSynced: 0, replicaConsistent: false,
    generation: 0, lastShippedEpoch: 0, lastAppliedEpoch: 0, epochsBehind: 0, bytesBehind: 0, dirtyGrains: 0,
    grainBytes: 0, outOfSyncBytes: 0, rpoSeconds: 0, bytesShipped: 0, bytesResynced: 0, throughputBytesPerSecond: 0,
    updatedAt: new Date().toISOString(),
  };
}

function heldPhase(admin: AdminState): Extract<PairPhase, 'fractured' | 'suspended' | 'failed-over'> | undefined {
  if (admin === 'fractured' || admin === 'suspended' || admin === 'failed-over') return admin;
  return undefined;
}

/** The administrative state an operation leads to, or undefined when it is not allowed now. */
function nextAdmin(entry: PairEntry, operation: PairOperation): AdminState | undefined {
  const { admin } = entry;
  switch (operation) {
    case 'fracture': return admin === 'active' || admin === 'suspended' ? 'fractured' : undefined;
    case 'suspend': return admin === 'active' ? 'suspended' : undefined;
    case 'resume': return admin === 'fractured' || admin === 'suspended' ? 'active' : undefined;
    case 'resync': return admin === 'active' || admin === 'fractured' || admin === 'suspended' ? 'active' : undefined;
    case 'detach': return 'detached';
    case 'failover': return admin === 'active' || admin === 'fractured' || admin === 'suspended' ? 'failed-over' : undefined;
    case 'failback': return admin === 'failed-over' ? 'failback-pending' : undefined;
    case 'reverse-roles': return admin === 'active' || admin === 'fractured' || admin === 'failed-over' ? 'reversing' : undefined;
  }
}
