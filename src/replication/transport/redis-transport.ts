/**
 * The replication transport over one Redis or a Redis Cluster (`redis+cluster://…`), with a fixed set
 * of connections per system shared by all its pairs:
 *
 * - one command client (on a cluster: one connection per master it talks to), which fails fast while
 *   Redis is down (no offline queue); every pair's BullMQ Queue (source) and non-blocking consumer
 *   (replica, polled-epoch-consumer.ts) uses it too;
 * - one subscriber client (channel-subscriber.ts): on a cluster, sharded pub/sub with one connection
 *   per master.
 *
 * So a system holds 2 connections on one Redis, and 2 × masters + 1 on a cluster (the subscriber
 * client also keeps one node connection for the slot map), however many pairs it has
 * (`connectionBound`). Each connection is named (CLIENT SETNAME `iscsi-sim:<system>:cmd|sub`)
 * so CLIENT LIST shows who holds what. A replica learns of a new epoch from the pair's notification
 * channel; a slow sweep (one timer per system) covers notifications lost in an outage.
 */
import { Queue } from 'bullmq';
import { connectRedis, isCluster, type RedisClient } from '../../util/redis-endpoint.ts';
import { pairKeys } from '../keys.ts';
import { ChannelSubscriber } from './channel-subscriber.ts';
import { PolledEpochConsumer } from './polled-epoch-consumer.ts';
import { RedisStore } from './redis-store.ts';
import { withTimeout } from './with-timeout.ts';
import type {
  EpochConsumer, EpochConsumerOptions, EpochJob, EpochJobData, EpochProducer, KeyValueStore, ReplicationTransport, Subscription,
} from './transport.ts';

export interface RedisTransportOptions {
  /** Names the connections (CLIENT SETNAME iscsi-sim:<name>:…): the system's name. */
  readonly name?: string;
  /** How often every consumer looks for jobs it was not told about (and stalled ones). @defaultValue 10 s */
  readonly sweepMs?: number;
}


export class RedisTransport implements ReplicationTransport {
  readonly store: KeyValueStore;
  private readonly redis: RedisClient;
  private subscriber: ChannelSubscriber | undefined;
  private readonly consumers = new Set<PolledEpochConsumer>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly connectionName: string;

  constructor(private readonly url: string, options: RedisTransportOptions = {}) {
    this.connectionName = `iscsi-sim:${(options.name ?? 'system').replace(/[^A-Za-z0-9._-]/g, '_')}`;
    this.redis = connectRedis(url, {
      connectionName: `${this.connectionName}:cmd`,
      // The pairs' periodic commands issued in one tick go out as one write (and one read of replies).
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    this.redis.on('error', () => undefined); // failures surface as rejected commands
    // A consumer woken while Redis was down took nothing: look again once it is back.
    this.redis.on('ready', () => this.wakeConsumers());
    this.store = new RedisStore(this.redis);
    this.sweeper = setInterval(() => void this.sweep(), options.sweepMs ?? 10_000);
    this.sweeper.unref();
  }

  get connected(): boolean { return this.redis.status === 'ready'; }

  /** Connections a system holds at most, whatever its number of pairs (`masters`: 0 for one Redis). */
  static connectionBound(masters = 0): number { return masters === 0 ? 2 : 2 * masters + 1; }

  async whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return;
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); this.redis.off('ready', done); resolve(); };
      const timer = setTimeout(done, timeoutMs);
      this.redis.once('ready', done);
    });
  }

  subscribe(channel: string, onMessage: (message: string) => void): Subscription {
    return this.channels().subscribe(channel, onMessage);
  }

  epochProducer(pairId: string): EpochProducer {
    const keys = pairKeys(pairId);
    const queue = new Queue<EpochJobData>(keys.queueName, {
      connection: this.redis,
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
      add: async (data, jobId) => {
        await queue.add('epoch', data, { jobId });
        // Wakes the replica's consumer; lost (Redis blip) it is found by the sweep or the applier's probe.
        await this.store.publish(epochChannel(pairId), jobId).catch(() => undefined);
      },
      // The connection is shared: closing the queue leaves it open. Bounded all the same.
      close: async () => {
        await withTimeout(queue.close(), 'queue close').catch(() => undefined);
      },
    };
  }

  epochConsumer(pairId: string, handler: (job: EpochJob) => Promise<void>, options: EpochConsumerOptions): EpochConsumer {
    const wake = { consumer: undefined as PolledEpochConsumer | undefined };
    const subscription = this.subscribe(epochChannel(pairId), () => wake.consumer?.wake());
    const consumer = new PolledEpochConsumer(pairId, this.redis, handler, options, (closed) => {
      this.consumers.delete(closed);
      void subscription.close();
    });
    wake.consumer = consumer;
    this.consumers.add(consumer);
    consumer.wake();
    return consumer;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.subscriber?.close();
    this.redis.disconnect();
  }

  private channels(): ChannelSubscriber {
    if (!this.subscriber) {
      // Its own client: a connection in subscriber mode takes no other command. It queues while
      // disconnected and re-subscribes on reconnect.
      const client = connectRedis(this.url, {
        connectionName: `${this.connectionName}:sub`,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        shardedSubscribers: true,
        retryStrategy: (times) => Math.min(100 * times, 1000),
      });
      client.on('error', () => undefined);
      this.subscriber = new ChannelSubscriber(client, isCluster(client), () => this.wakeConsumers());
    }
    return this.subscriber;
  }

  private wakeConsumers(): void {
    for (const consumer of this.consumers) consumer.wake();
  }

  private async sweep(): Promise<void> {
    if (!this.connected) return;
    for (const consumer of this.consumers) await consumer.sweep();
  }
}

/** Where a pair's source announces a new epoch job (same hash tag as the pair's keys). */
function epochChannel(pairId: string): string {
  return `${pairKeys(pairId).queuePrefix}:epoch-channel`;
}
