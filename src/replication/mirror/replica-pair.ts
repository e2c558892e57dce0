/**
 * The target side of one mirror pair on its system: the applier, the LUN's write protection (replica
 * LUNs are read-only to initiators while they are mirror targets) and, while failed over, a dirty map
 * of what initiators change on the replica so failback/reverse can resync exactly those grains.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { LunView } from '../../system/view.ts';
import { logger } from '../../util/log.ts';
import { EpochApplier } from '../apply/epoch-applier.ts';
import { ChangeCapture } from '../capture/change-capture.ts';
import { DirtyMap } from '../capture/dirty-map.ts';
import { pairKeys } from '../keys.ts';
import type { ReplicationOptions } from '../options.ts';
import type { PairRecord } from '../pair-types.ts';
import type { AdminState } from './pair-registry.ts';

export interface ReplicaPairSettings {
  readonly record: PairRecord;
  readonly lun: LunView;
  readonly stateDir: string;
  readonly redis: Redis;
  readonly redisUrl: string;
  readonly options: ReplicationOptions;
}

export class ReplicaPair {
  private applier: EpochApplier | undefined;
  private tracking: { dirty: DirtyMap; capture: ChangeCapture } | undefined;
  private readonly log = logger.child({ component: 'replication', role: 'replica' });

  constructor(private readonly settings: ReplicaPairSettings) {}

  get pairId(): string { return this.settings.record.pairId; }
  get appliedEpoch(): number { return this.applier?.applied ?? 0; }
  get generation(): number { return this.applier?.generation ?? 0; }
  get running(): boolean { return this.applier !== undefined; }

  /** Brings this side in line with the operator's state. */
  async reconcile(admin: AdminState): Promise<void> {
    const lun = this.settings.lun;
    switch (admin) {
      case 'failed-over':
        await this.stopApplier();
        await this.startTracking();
        lun.writeProtected = false;
        return;
      case 'detached':
        await this.stopApplier();
        await this.handOver();
        lun.writeProtected = false;
        return;
      default:
        // active, fractured, suspended, failback-pending, reversing: a protected mirror target.
        lun.writeProtected = true;
        await this.handOver();
        await this.startApplier();
        if (admin === 'suspended') this.applier?.pause(); else this.applier?.resume();
    }
  }

  /** Pauses/resumes applying (tests stall the replica through this). */
  pause(): void { this.applier?.pause(); }
  resume(): void { this.applier?.resume(); }

  /** This side stops being the replica (reverse roles): what it changed while failed over is handed over. */
  async retire(): Promise<void> {
    await this.stopApplier();
    await this.handOver();
  }

  async close(): Promise<void> {
    await this.stopApplier();
    if (this.tracking) {
      this.tracking.capture.detach();
      await this.tracking.dirty.close();
      this.tracking = undefined;
    }
  }

  private async startApplier(): Promise<void> {
    if (this.applier) return;
    const { record, lun, stateDir, redis, redisUrl, options } = this.settings;
    this.applier = new EpochApplier({
      pairId: record.pairId,
      backstore: lun.backstore,
      journalBase: join(stateDir, 'replication', `${record.pairId}.replica`),
      redis,
      redisUrl,
      options,
    });
    await this.applier.start();
  }

  private async stopApplier(): Promise<void> {
    const applier = this.applier;
    this.applier = undefined;
    await applier?.close();
  }

  private async startTracking(): Promise<void> {
    if (this.tracking) return;
    const { record, lun, stateDir, options } = this.settings;
    const dirty = await DirtyMap.open(join(stateDir, 'replication', `${record.pairId}.failover.dirty`), lun.sizeBytes, options.grainBytes, { extentBytes: options.activityExtentBytes, cleanPersistMs: options.cleanPersistMs });
    // Never streaming: only the dirty map is kept.
    const capture = new ChangeCapture(lun.backstore, dirty, options, { sealed: () => undefined });
    capture.attach();
    this.tracking = { dirty, capture };
  }

  /** Gives the grains changed while failed over to the (next) source, then forgets them. */
  private async handOver(): Promise<void> {
    const tracking = this.tracking ?? await this.reopenTrackingIfAny();
    if (!tracking) return;
    tracking.capture.detach();
    const grains = tracking.dirty.pendingGrains();
    if (grains.length > 0) {
      await this.settings.redis.sadd(pairKeys(this.pairId).handoverGrains, ...grains.map(String));
      this.log.info({ pair: this.pairId, grains: grains.length }, 'handed over grains changed on the replica');
    }
    await tracking.dirty.forgetAll();
    await tracking.dirty.close();
    this.tracking = undefined;
  }

  /** After a restart while failed over, the tracking map is only on disk. */
  private async reopenTrackingIfAny(): Promise<{ dirty: DirtyMap; capture: ChangeCapture } | undefined> {
    const { record, lun, stateDir, options } = this.settings;
    const path = join(stateDir, 'replication', `${record.pairId}.failover.dirty`);
    const { access } = await import('node:fs/promises');
    if (!(await access(path).then(() => true, () => false))) return undefined;
    const dirty = await DirtyMap.open(path, lun.sizeBytes, options.grainBytes, { extentBytes: options.activityExtentBytes, cleanPersistMs: options.cleanPersistMs });
    return { dirty, capture: new ChangeCapture(lun.backstore, dirty, options, { sealed: () => undefined }) };
  }
}
