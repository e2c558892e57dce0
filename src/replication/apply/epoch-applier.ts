/**
 * The replica side of one mirror pair: a queue consumer whose jobs only announce "epoch (g, N) is in
 * the store"; the payloads stay in their keys until applied, so a crash of this process loses nothing (on
 * restart, and periodically, the applier probes for the next epoch's key itself). Epochs are applied
 * strictly in order through the journal, then acknowledged back to the source through an ack key and
 * a pub/sub message.
 */
import type { Backstore } from '../../storage/backstore.ts';
import { logger } from '../../util/log.ts';
import { systemClock, type Clock } from '../clock.ts';
import { pairKeys, type PairKeys } from '../keys.ts';
import type { ReplicationOptions } from '../options.ts';
import type { EpochConsumer, EpochJob, KeyValueStore, ReplicationTransport } from '../transport/transport.ts';
import { withTimeout } from '../transport/with-timeout.ts';
import { payloadVerifyRequest } from '../pipeline/payload.ts';
import { chunkDigests } from '../sync/digests.ts';
import { ApplyJournal } from './apply-journal.ts';
import { ReorderBuffer } from './reorder-buffer.ts';

export type { EpochJobData } from '../transport/transport.ts';

const VERIFY_RESULT_TTL_MS = 10 * 60_000;
/** An idle replica looks for epochs it was not told about at every this-many probes. */
const IDLE_SEARCH_EVERY = 4;
/** How long shutdown waits for the queue consumer before going on without it. */
const WORKER_CLOSE_BOUND_MS = 2000;

export interface AckMessage {
  readonly generation: number;
  readonly applied: number;
  /** ms since epoch of the recording. */
  readonly at: number;
}

export interface EpochApplierSettings {
  readonly pairId: string;
  readonly backstore: Backstore;
  /** Path prefix of the journal and applied-position files. */
  readonly journalBase: string;
  readonly transport: ReplicationTransport;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  readonly options: Pick<ReplicationOptions, 'probeIntervalMs' | 'applyConcurrency'>;
}

export class EpochApplier {
  private readonly keys: PairKeys;
  private readonly store: KeyValueStore;
  private journal: ApplyJournal | undefined;
  private reorder = new ReorderBuffer(0, 0);
  private worker: EpochConsumer | undefined;
  private stopProbing: (() => void) | undefined;
  private draining = false;
  private paused = false;
  private closed = false;
  private appliedBytes = 0;
  /** Position (generation:applied) at the last search that found nothing; undefined: search next probe. */
  private searchedAt: string | undefined;
  private idleProbes = 0;
  private readonly log = logger.child({ component: 'replication', role: 'replica' });

  constructor(private readonly settings: EpochApplierSettings) {
    this.keys = pairKeys(settings.pairId);
    this.store = settings.transport.store;
  }

  get generation(): number { return this.reorder.generation; }
  get applied(): number { return this.reorder.applied; }
  get bytesApplied(): number { return this.appliedBytes; }
  /** Not applying right now (after pause(), the replica then sits exactly at an epoch boundary). */
  get idle(): boolean { return !this.draining; }

  async start(): Promise<void> {
    this.journal = await ApplyJournal.open(this.settings.journalBase);
    const position = await this.journal.recover(this.settings.backstore);
    this.reorder = new ReorderBuffer(position.generation, position.epoch);
    this.log.info({ pair: this.settings.pairId, ...position }, 'replica applier starting');
    this.worker = this.settings.transport.epochConsumer(this.settings.pairId, (job) => this.onJob(job), {
      concurrency: this.settings.options.applyConcurrency,
      onError: (err) => this.log.warn({ err: err.message }, 'replica worker error'),
    });
    this.stopProbing = (this.settings.clock ?? systemClock).every(this.settings.options.probeIntervalMs, () => void this.probe());
    void this.probe();
  }

  /** Stops applying (jobs still arrive and are buffered); used by Suspend and by tests to stall the replica. */
  pause(): void { this.paused = true; }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopProbing?.();
    await this.closeWorker();
    while (this.draining) await new Promise((resolve) => setTimeout(resolve, 5));
    // No longer applying: a source probing the link must not take this side for alive (failover).
    // Best effort: without Redis the key cannot be deleted, but it expires after 4 probe intervals.
    await this.store.del(this.keys.replicaAlive).catch(() => undefined);
    await this.journal?.close();
  }

  /**
   * A graceful close of a BullMQ Worker QUITs its own connection, and with Redis gone that QUIT waits forever
   * (maxRetriesPerRequest null queues it until Redis returns): the system then never stopped on SIGTERM.
   * Without Redis the worker is force-closed (disconnected), and any close is bounded. Nothing is lost:
   * an epoch job not marked completed is redelivered later and found stale, what was applied is in
   * the journal, which is closed below either way.
   */
  private async closeWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const force = !this.settings.transport.connected;
    await withTimeout(worker.close(force), 'worker close', WORKER_CLOSE_BOUND_MS).catch((err: Error) => {
      this.log.warn({ pair: this.settings.pairId, err: err.message }, 'replica worker did not close cleanly; stopping without it');
    });
  }

  private async onJob(job: EpochJob): Promise<void> {
    const { generation, epoch } = job.data ?? {};
    if (generation === undefined || epoch === undefined || !Number.isFinite(generation) || !Number.isSafeInteger(epoch) || epoch < 1) {
      this.log.warn({ jobId: job.id }, 'dropping malformed epoch job');
      return;
    }
    const result = this.reorder.offer(generation, epoch);
    if (result === 'stale') {
      // Redelivery of something already recorded (or superseded): exactly-once effect, just tidy up.
      await this.store.del(this.keys.payload(generation, epoch)).catch(() => undefined);
      return;
    }
    if (result === 'new-generation') this.log.info({ generation }, 'source started a new stream generation');
    this.kick();
  }

  private kick(): void {
    if (!this.draining && !this.paused && !this.closed) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let next = this.reorder.next(); next !== undefined && !this.paused && !this.closed; next = this.reorder.next()) {
        const generation = this.reorder.generation;
        const key = this.keys.payload(generation, next);
        const payload = await this.store.getBuffer(key);
        if (!payload) { this.reorder.drop(next); break; }
        try {
          await this.journal!.apply(this.settings.backstore, generation, next, payload);
        } catch (err) {
          // A payload we cannot apply stalls the stream; the source notices and starts a resync.
          this.log.error({ err, generation, epoch: next }, 'cannot apply epoch');
          this.reorder.drop(next);
          await this.store.del(key).catch(() => undefined);
          break;
        }
        this.reorder.recorded(generation, next);
        this.appliedBytes += payload.length;
        await this.answerVerify(payload);
        await this.acknowledge(generation, next);
        await this.store.del(key);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'replica drain interrupted');
    } finally {
      this.draining = false;
    }
  }

  /** Verify requests are answered at their epoch boundary: nothing later is applied meanwhile. */
  private async answerVerify(payload: Buffer): Promise<void> {
    const request = payloadVerifyRequest(payload);
    if (!request) return;
    const digests = await chunkDigests(this.settings.backstore, request.chunkBytes);
    await this.store.set(this.keys.verifyDigests(request.id), JSON.stringify(digests), { ttlMs: VERIFY_RESULT_TTL_MS });
  }

  private async acknowledge(generation: number, applied: number): Promise<void> {
    const message = JSON.stringify({ generation, applied, at: Date.now() } satisfies AckMessage);
    await this.store.batch([
      { op: 'set', key: this.keys.ack, value: message },
      { op: 'publish', channel: this.keys.ackChannel, message },
    ]);
  }

  /**
   * Keeps the heartbeat up (every probe) and finds epochs whose job we never saw (crash, lost
   * notification): at every probe while epochs arrive, at every IDLE_SEARCH_EVERY-th once the pair is
   * idle — many idle pairs then cost one SET each per probe, not four commands.
   */
  private async probe(): Promise<void> {
    if (this.closed) return;
    const store = this.store;
    try {
      await store.set(this.keys.replicaAlive, String(Date.now()), { ttlMs: this.settings.options.probeIntervalMs * 4 });
      const position = `${this.reorder.generation}:${this.reorder.applied}`;
      if (position === this.searchedAt && ++this.idleProbes < IDLE_SEARCH_EVERY) { this.kick(); return; }
      this.idleProbes = 0;
      const announced = Number(await store.get(this.keys.generation));
      const newGeneration = Number.isFinite(announced) && announced > this.reorder.generation;
      if (newGeneration) this.reorder.offer(announced, 1);
      const next = this.reorder.applied + 1;
      const found = await store.exists(this.keys.payload(this.reorder.generation, next));
      if (found) this.reorder.offer(this.reorder.generation, next);
      if (this.reorder.applied > 0 || this.reorder.generation > 0) {
        const ack = await store.get(this.keys.ack);
        if (!ack) await this.acknowledge(this.reorder.generation, this.reorder.applied);
      }
      // Nothing new since the last search: search again only after a few probes.
      this.searchedAt = found || newGeneration ? undefined : position;
      this.kick();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'replica probe failed');
    }
  }
}
