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
import { ApplyJournal, type PreparedEpoch } from './apply-journal.ts';
import { ReorderBuffer } from './reorder-buffer.ts';

export type { EpochJobData } from '../transport/transport.ts';

const VERIFY_RESULT_TTL_MS = 10 * 60_000;
/** An idle replica looks for epochs it was not told about at every this-many probes. */
const IDLE_SEARCH_EVERY = 4;
/** Group commit bounds: epochs and payload bytes applied as one journal batch (at least one epoch). */
const MAX_BATCH_EPOCHS = 64;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Epochs past the announced ones looked for in the same round trip (their announcement may trail). */
const LOOKAHEAD_EPOCHS = 2;
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
  /** Position (generation:applied) last acknowledged to the source. */
  private ackedAt: string | undefined;
  private acking: Promise<void> = Promise.resolve();
  private ackQueued = false;
  /** Payload keys of recorded epochs not deleted yet (Redis failed right after the apply). */
  private unacked: string[] = [];
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
    const journal = await ApplyJournal.open(this.settings.journalBase);
    let position;
    try {
      position = await journal.recover(this.settings.backstore);
    } catch (error) {
      await journal.close();
      throw error;
    }
    this.journal = journal;
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
    await this.acking;
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
    const result = this.reorder.offer(generation, epoch, job.data?.bytes);
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

  /**
   * Applies what is ready, a batch at a time (group commit): the payloads of the ready run of epochs
   * (and a few not announced yet: the payload key is written before its announcement) fetched in one
   * round trip, applied as one journal batch, then one ack for its last epoch and one DEL of its keys.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (!this.paused && !this.closed) {
        const generation = this.reorder.generation;
        const batch = await this.fetchBatch(generation);
        if (batch.length === 0) break;
        if (this.closed || generation !== this.reorder.generation) break;
        const keys = batch.map((e) => this.keys.payload(generation, e.epoch));
        try {
          await this.journal!.applyBatch(this.settings.backstore, generation, batch);
        } catch (err) {
          // Payloads we cannot apply stall the stream; the source notices and starts a resync.
          this.log.error({ err, generation, epochs: `${batch[0]!.epoch}-${batch.at(-1)!.epoch}` }, 'cannot apply epochs');
          for (const e of batch) this.reorder.drop(e.epoch);
          await this.store.del(...keys).catch(() => undefined);
          break;
        }
        let bytes = 0;
        for (const e of batch) { this.reorder.recorded(generation, e.epoch); bytes += e.payload.length; }
        this.appliedBytes += bytes;
        this.unacked.push(...keys);
        await this.answerVerify(batch.at(-1)!.payload);
        this.queueAck();
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'replica drain interrupted');
    } finally {
      this.draining = false;
    }
  }

  /**
   * The next batch: consecutive epochs from the one after the recorded position whose payloads are in
   * the store and decode to writes that fit the replica. A missing payload ends the batch (and is
   * forgotten until re-offered); an epoch with a verify request ends it too (it is answered at its
   * epoch boundary). An unusable payload is reported once it is first in line.
   */
  private async fetchBatch(generation: number): Promise<PreparedEpoch[]> {
    const ready = this.reorder.ready(MAX_BATCH_EPOCHS, MAX_BATCH_BYTES);
    if (ready.epochs.length === 0) return [];
    const first = ready.epochs[0]!;
    const lookahead = ready.bytes < MAX_BATCH_BYTES ? Math.min(LOOKAHEAD_EPOCHS, MAX_BATCH_EPOCHS - ready.epochs.length) : 0;
    const wanted = [...ready.epochs];
    for (let i = 1; i <= lookahead; i++) wanted.push(first + ready.epochs.length - 1 + i);
    // Issued in one tick: the transport pipelines them into one round trip.
    const payloads = await Promise.all(wanted.map((epoch) => this.store.getBuffer(this.keys.payload(generation, epoch))));
    const batch: PreparedEpoch[] = [];
    let bytes = 0;
    for (const [i, epoch] of wanted.entries()) {
      const payload = payloads[i];
      if (!payload) { this.reorder.drop(epoch); break; }
      if (batch.length > 0 && bytes + payload.length > MAX_BATCH_BYTES) break;
      let prepared: PreparedEpoch;
      try {
        prepared = ApplyJournal.prepare(this.settings.backstore, epoch, payload);
      } catch (err) {
        if (batch.length > 0) break;
        this.log.error({ err, generation, epoch }, 'cannot apply epoch');
        this.reorder.drop(epoch);
        await this.store.del(this.keys.payload(generation, epoch)).catch(() => undefined);
        break;
      }
      batch.push(prepared);
      bytes += payload.length;
      if (payloadVerifyRequest(payload)) break;
    }
    return batch;
  }

  /** Verify requests are answered at their epoch boundary: nothing later is applied meanwhile. */
  private async answerVerify(payload: Buffer): Promise<void> {
    const request = payloadVerifyRequest(payload);
    if (!request) return;
    const digests = await chunkDigests(this.settings.backstore, request.chunkBytes);
    await this.store.set(this.keys.verifyDigests(request.id), JSON.stringify(digests), { ttlMs: VERIFY_RESULT_TTL_MS });
  }

  /**
   * The ack goes out behind the record without holding up the next batch (one round trip less per
   * batch); acks leave in order and one waiting ack covers every batch recorded before it is sent.
   */
  private queueAck(): void {
    if (this.ackQueued) return;
    this.ackQueued = true;
    this.acking = this.acking.then(async () => {
      this.ackQueued = false;
      await this.acknowledgeApplied().catch((err: Error) => {
        this.log.debug({ err: err.message }, 'ack failed; the next batch or probe sends it again');
      });
    });
  }

  /**
   * Tells the source how far this side got and removes the applied payloads, in one round trip. If
   * Redis fails here the next batch or probe tries again (the ack is cumulative; an idle pair must not
   * be left with an old ack, nor Redis with applied payloads).
   */
  private async acknowledgeApplied(): Promise<void> {
    const generation = this.reorder.generation;
    const applied = this.reorder.applied;
    const keys = this.unacked.splice(0);
    try {
      await Promise.all([this.acknowledge(generation, applied), keys.length > 0 ? this.store.del(...keys) : undefined]);
      this.ackedAt = `${generation}:${applied}`;
    } catch (err) {
      this.unacked.unshift(...keys);
      throw err;
    }
  }

  private async acknowledge(generation: number, applied: number): Promise<void> {
    const message = JSON.stringify({ generation, applied, at: Date.now() } satisfies AckMessage);
    await this.store.batch([
      { op: 'set', key: this.keys.ack, value: message },
      { op: 'publish', channel: this.keys.ackChannel, message },
    ]);
  }

  /**
   * Finds epochs whose job we never saw (crash, lost notification): at every probe while epochs
   * arrive, at every IDLE_SEARCH_EVERY-th once the pair is idle. (That the replica runs is told once
   * per system, not here: pipeline/replica-liveness.ts.)
   */
  private async probe(): Promise<void> {
    if (this.closed) return;
    const store = this.store;
    try {
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
        if (!ack || this.ackedAt !== `${this.reorder.generation}:${this.reorder.applied}`) await this.acknowledgeApplied();
      }
      // Nothing new since the last search: search again only after a few probes.
      this.searchedAt = found || newGeneration ? undefined : position;
      this.kick();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'replica probe failed');
    }
  }
}
