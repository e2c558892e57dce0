/**
 * The target side of one mirror pair on its system: the applier and the LUN's write protection
 * (a target is read-only to initiators). Changes made while a system is writable are always tracked
 * by its SourcePair (after a failover the DR site is the source of the reversed relationship), so the
 * target side never has anything of its own to hand over.
 */
import { join } from 'node:path';
import type { LunView } from '../../system/view.ts';
import { EpochApplier } from '../apply/epoch-applier.ts';
import type { Clock } from '../clock.ts';
import type { ReplicationOptions } from '../options.ts';
import type { PairRecord } from '../pair-types.ts';
import type { ReplicaLiveness } from '../pipeline/replica-liveness.ts';
import type { ReplicationTransport } from '../transport/transport.ts';
import type { TargetDuty } from './admin-transitions.ts';

export interface ReplicaPairSettings {
  readonly record: PairRecord;
  readonly lun: LunView;
  readonly stateDir: string;
  readonly transport: ReplicationTransport;
  readonly clock?: Clock;
  readonly options: ReplicationOptions;
  /** Tells sources probing the link that this replica runs (one heartbeat per system). */
  readonly liveness: ReplicaLiveness;
}

export class ReplicaPair {
  private applier: EpochApplier | undefined;

  constructor(private readonly settings: ReplicaPairSettings) {}

  get pairId(): string { return this.settings.record.pairId; }
  get appliedEpoch(): number { return this.applier?.applied ?? 0; }
  get generation(): number { return this.applier?.generation ?? 0; }
  get running(): boolean { return this.applier !== undefined; }

  /** Brings this side in line with what the pair's state asks of a target. */
  async reconcile(duty: TargetDuty): Promise<void> {
    const lun = this.settings.lun;
    switch (duty) {
      case 'released':
        await this.stopApplier();
        lun.writeProtected = false;
        return;
      case 'fenced':
        lun.writeProtected = true;
        await this.stopApplier();
        return;
      case 'apply':
      case 'paused':
        lun.writeProtected = true;
        await this.startApplier();
        if (duty === 'paused') this.applier?.pause(); else this.applier?.resume();
    }
  }

  /** Pauses/resumes applying (tests stall the replica through this). */
  pause(): void { this.applier?.pause(); }
  resume(): void { this.applier?.resume(); }

  /** This side stops being the target (it becomes the source). */
  async retire(): Promise<void> {
    await this.stopApplier();
  }

  async close(): Promise<void> {
    await this.stopApplier();
  }

  private async startApplier(): Promise<void> {
    if (this.applier) return;
    const { record, lun, stateDir, transport, clock, options } = this.settings;
    this.applier = new EpochApplier({
      pairId: record.pairId,
      backstore: lun.backstore,
      journalBase: join(stateDir, 'replication', `${record.pairId}.replica`),
      transport,
      ...(clock ? { clock } : {}),
      options,
    });
    try {
      await this.applier.start();
    } catch (error) {
      // Not running: the next reconcile tries again (and reports the same error until it is fixed).
      this.applier = undefined;
      throw error;
    }
    await this.settings.liveness.mark(record.pairId);
  }

  private async stopApplier(): Promise<void> {
    const applier = this.applier;
    if (!applier) return;
    this.applier = undefined;
    // No longer applying: a source probing the link must not take this side for alive (failover).
    await this.settings.liveness.unmark(this.settings.record.pairId);
    await applier.close();
  }
}
