/**
 * Source side of the pipeline for one pair: puts an epoch's payload in its own binary Redis key and
 * announces it with a small BullMQ job (jobId = pair-generation-epoch, so a resend dedupes). Every
 * Redis call is bounded by a timeout: the caller turns a failure into "the pair goes ahead", never into
 * a stalled initiator.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EpochJobData } from '../apply/epoch-applier.ts';
import { pairKeys, type PairKeys } from '../keys.ts';
import type { ReplicationOptions } from '../options.ts';

const REDIS_TIMEOUT_MS = 3000;

export class EpochShipper {
  private readonly keys: PairKeys;
  private readonly queue: Queue<EpochJobData>;

  constructor(
    private readonly pairId: string,
    private readonly redis: Redis,
    redisUrl: string,
    private readonly options: Pick<ReplicationOptions, 'payloadTtlMs'>,
  ) {
    this.keys = pairKeys(pairId);
    this.queue = new Queue<EpochJobData>(this.keys.queueName, {
      connection: { url: redisUrl, maxRetriesPerRequest: 1 },
      prefix: this.keys.queuePrefix,
      streams: { events: { maxLen: 100 } },
      skipWaitingForReady: true,
      defaultJobOptions: {
        removeOnComplete: true,
        removeOnFail: 100,
        attempts: 8,
        backoff: { type: 'exponential', delay: 200 },
      },
    });
    this.queue.on('error', () => undefined); // connection errors surface as rejected ship() calls
  }

  /** Stores the payload, then queues the announcement. */
  async ship(generation: number, epoch: number, payload: Buffer, resync: boolean): Promise<void> {
    const key = this.keys.payload(generation, epoch);
    await withTimeout(this.redis.set(key, payload, 'PX', this.options.payloadTtlMs), 'payload SET');
    const data: EpochJobData = { pair: this.pairId, generation, epoch, key, bytes: payload.length, resync };
    await withTimeout(this.queue.add('epoch', data, { jobId: this.keys.jobId(generation, epoch) }), 'queue add');
  }

  /** Tells the replica a new stream generation starts (it drops what is left of older ones). */
  async announceGeneration(generation: number): Promise<void> {
    await withTimeout(this.redis.set(this.keys.generation, String(generation)), 'generation SET');
  }

  async previousGeneration(): Promise<number> {
    const value = Number(await withTimeout(this.redis.get(this.keys.generation), 'generation GET'));
    return Number.isFinite(value) ? value : 0;
  }

  /** Whether Redis answers and the replica's applier is alive. */
  async linkUp(): Promise<boolean> {
    try {
      return (await withTimeout(this.redis.exists(this.keys.replicaAlive), 'probe')) === 1;
    } catch {
      return false;
    }
  }

  /** Best-effort removal of payloads a superseded generation left behind. */
  async discard(generation: number, epochs: Iterable<number>): Promise<void> {
    const keys = [...epochs].map((epoch) => this.keys.payload(generation, epoch));
    if (keys.length > 0) await withTimeout(this.redis.del(...keys), 'payload DEL').catch(() => undefined);
  }

  /** Bounded: a Queue whose connection went through an outage can wait for ever on QUIT. */
  async close(): Promise<void> {
    await withTimeout(this.queue.close(), 'queue close').catch(async () => {
      await this.queue.disconnect().catch(() => undefined);
    });
  }
}

export function withTimeout<T>(promise: Promise<T>, what: string, ms = REDIS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
