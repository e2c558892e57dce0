/**
 * The replication transport over one Redis server: a command connection that fails fast while Redis is
 * down (no offline queue), a duplicate connection per subscription (queued and re-subscribed across
 * reconnects), and per pair a BullMQ Queue (source) or Worker (replica) on the pair's hash-tagged prefix.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pairKeys } from '../keys.ts';
import { withTimeout } from './with-timeout.ts';
import type {
  BatchWrite, EpochConsumer, EpochConsumerOptions, EpochJob, EpochJobData, EpochProducer, KeyValueStore, ReplicationTransport, SetOptions, Subscription,
} from './transport.ts';

export class RedisTransport implements ReplicationTransport {
  readonly store: KeyValueStore;
  private readonly redis: Redis;

  constructor(private readonly url: string) {
    this.redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    this.redis.on('error', () => undefined); // failures surface as rejected commands
    this.store = new RedisStore(this.redis);
  }

  get connected(): boolean { return this.redis.status === 'ready'; }

  async whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return;
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); this.redis.off('ready', done); resolve(); };
      const timer = setTimeout(done, timeoutMs);
      this.redis.once('ready', done);
    });
  }

  subscribe(channel: string, onMessage: (message: string) => void): Subscription {
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (from: string, message: string) => { if (from === channel) onMessage(message); });
    void subscriber.subscribe(channel).catch(() => undefined);
    return { close: async () => { subscriber.disconnect(); } };
  }

  epochProducer(pairId: string): EpochProducer {
    const keys = pairKeys(pairId);
    const queue = new Queue<EpochJobData>(keys.queueName, {
      connection: { url: this.url, maxRetriesPerRequest: 1 },
      prefix: keys.queuePrefix,
      streams: { events: { maxLen: 100 } },
      skipWaitingForReady: true,
      defaultJobOptions: {
        removeOnComplete: true,
        removeOnFail: 100,
        attempts: 8,
        backoff: { type: 'exponential', delay: 200 },
      },
    });
    queue.on('error', () => undefined); // connection errors surface as rejected add() calls
    return {
      add: async (data, jobId) => { await queue.add('epoch', data, { jobId }); },
      // A Queue whose connection went through an outage can wait for ever on QUIT: the caller bounds
      // close() and falls back to disconnect().
      close: async () => {
        await withTimeout(queue.close(), 'queue close').catch(async () => { await queue.disconnect().catch(() => undefined); });
      },
    };
  }

  epochConsumer(pairId: string, handler: (job: EpochJob) => Promise<void>, options: EpochConsumerOptions): EpochConsumer {
    const keys = pairKeys(pairId);
    const worker = new Worker<EpochJobData>(keys.queueName, (job) => handler({ id: job.id, data: job.data as EpochJobData | undefined }), {
      connection: { url: this.url, maxRetriesPerRequest: null },
      prefix: keys.queuePrefix,
      concurrency: options.concurrency,
      autorun: true,
    });
    worker.on('error', options.onError);
    return { close: (force) => worker.close(force) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

class RedisStore implements KeyValueStore {
  constructor(private readonly redis: Redis) {}

  get(key: string): Promise<string | null> { return this.redis.get(key); }
  getBuffer(key: string): Promise<Buffer | null> { return this.redis.getBuffer(key); }

  async set(key: string, value: string | Buffer, options: SetOptions = {}): Promise<boolean> {
    const { ttlMs, ifAbsent } = options;
    let reply: string | null;
    if (ttlMs !== undefined) reply = ifAbsent ? await this.redis.set(key, value, 'PX', ttlMs, 'NX') : await this.redis.set(key, value, 'PX', ttlMs);
    else reply = ifAbsent ? await this.redis.set(key, value, 'NX') : await this.redis.set(key, value);
    return reply === 'OK';
  }

  del(...keys: string[]): Promise<number> { return this.redis.del(...keys); }
  async exists(key: string): Promise<boolean> { return (await this.redis.exists(key)) === 1; }
  async sadd(key: string, ...members: string[]): Promise<void> { await this.redis.sadd(key, ...members); }
  smembers(key: string): Promise<string[]> { return this.redis.smembers(key); }
  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<void> { await this.redis.hset(key, fields); }
  hgetall(key: string): Promise<Record<string, string>> { return this.redis.hgetall(key); }
  async publish(channel: string, message: string): Promise<void> { await this.redis.publish(channel, message); }

  async batch(writes: readonly BatchWrite[]): Promise<void> {
    const multi = this.redis.multi();
    for (const write of writes) {
      if (write.op === 'set') {
        const { ttlMs, ifAbsent } = write.options ?? {};
        if (ttlMs !== undefined) { if (ifAbsent) multi.set(write.key, write.value, 'PX', ttlMs, 'NX'); else multi.set(write.key, write.value, 'PX', ttlMs); }
        else if (ifAbsent) multi.set(write.key, write.value, 'NX');
        else multi.set(write.key, write.value);
      }
      else if (write.op === 'sadd') multi.sadd(write.key, ...write.members);
      else multi.publish(write.channel, write.message);
    }
    await multi.exec();
  }
}
