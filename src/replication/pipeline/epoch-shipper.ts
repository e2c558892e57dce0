/**
 * Source side of the pipeline for one pair: puts an epoch's payload in its own binary key and
 * announces it with a small queued job (jobId = pair-generation-epoch, so a resend dedupes). Every
 * call to the store is bounded by a timeout: the caller turns a failure into "the pair goes ahead",
 * never into a stalled initiator.
 */
import { pairKeys, type PairKeys } from '../keys.ts';
import type { ReplicationOptions } from '../options.ts';
import type { EpochJobData, EpochProducer, KeyValueStore, ReplicationTransport } from '../transport/transport.ts';
import { withTimeout } from '../transport/with-timeout.ts';
import { replicaAlive } from './replica-liveness.ts';

export class EpochShipper {
  private readonly keys: PairKeys;
  private readonly store: KeyValueStore;
  private readonly queue: EpochProducer;

  constructor(
    private readonly pairId: string,
    /** The system the replica side runs on. */
    private readonly targetSystem: string,
    transport: ReplicationTransport,
    private readonly options: Pick<ReplicationOptions, 'payloadTtlMs'>,
  ) {
    this.keys = pairKeys(pairId);
    this.store = transport.store;
    this.queue = transport.epochProducer(pairId);
  }

  /** Stores the payload, then queues the announcement. */
  async ship(generation: number, epoch: number, payload: Buffer, resync: boolean): Promise<void> {
    const key = this.keys.payload(generation, epoch);
    await withTimeout(this.store.set(key, payload, { ttlMs: this.options.payloadTtlMs }), 'payload SET');
    const data: EpochJobData = { pair: this.pairId, generation, epoch, key, bytes: payload.length, resync };
    await withTimeout(this.queue.add(data, this.keys.jobId(generation, epoch)), 'queue add');
  }

  /** Tells the replica a new stream generation starts (it drops what is left of older ones). */
  async announceGeneration(generation: number): Promise<void> {
    await withTimeout(this.store.set(this.keys.generation, String(generation)), 'generation SET');
  }

  async previousGeneration(): Promise<number> {
    const value = Number(await withTimeout(this.store.get(this.keys.generation), 'generation GET'));
    return Number.isFinite(value) ? value : 0;
  }

  /** Whether the store answers and the replica's applier is alive. */
  async linkUp(): Promise<boolean> {
    try {
      return await withTimeout(replicaAlive(this.store, this.pairId, this.targetSystem), 'probe');
    } catch {
      return false;
    }
  }

  /** Best-effort removal of payloads a superseded generation left behind. */
  async discard(generation: number, epochs: Iterable<number>): Promise<void> {
    const keys = [...epochs].map((epoch) => this.keys.payload(generation, epoch));
    if (keys.length > 0) await withTimeout(this.store.del(...keys), 'payload DEL').catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
