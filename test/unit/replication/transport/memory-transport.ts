/**
 * An in-memory fake of the replication transport (not a test file: tap skips it). One MemoryStore plays
 * the Redis server; each system connects its own MemoryTransport, which a test can cut off and
 * reconnect (site partition, Redis outage) independently of the others. Everything is synchronous
 * underneath; pub/sub messages and queued jobs are delivered on the microtask queue, like the network
 * delivers them after the command returned. `changed` wakes `until()` on every write, so tests wait on
 * events, never on time.
 */
import { EventEmitter } from 'node:events';
import type {
  BatchWrite, EpochConsumer, EpochConsumerOptions, EpochJob, EpochJobData, EpochProducer, KeyValueStore, ReplicationTransport, SetOptions, Subscription,
} from '../../../../src/replication/transport/transport.ts';

interface Value { readonly data: string | Buffer | Set<string> | Map<string, string>; readonly expiresAt?: number }
interface QueuedJob { readonly id: string; readonly data: EpochJobData }
interface Consumer { readonly client: MemoryTransport; readonly handler: (job: EpochJob) => Promise<void>; readonly concurrency: number; active: number }

export class MemoryStore {
  private readonly values = new Map<string, Value>();
  private readonly subscribers = new Map<string, Set<{ client: MemoryTransport; onMessage: (message: string) => void }>>();
  private readonly queues = new Map<string, QueuedJob[]>();
  private readonly consumers = new Map<string, Consumer>();
  /** Emits 'change' after every write, publish and job. */
  readonly events = new EventEmitter();
  /** Jobs each pair's producer added (ids), in order: what a test can assert the shipping order on. */
  readonly jobLog: string[] = [];

  constructor(readonly now: () => number = Date.now) {
    this.events.setMaxListeners(0);
  }

  connect(): MemoryTransport { return new MemoryTransport(this); }

  /** Resolves once `check` holds, re-checked after every change of the store (bounded by `timeoutMs`). */
  until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => { if (check()) { cleanup(); resolve(); } };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${what} did not hold within ${timeoutMs} ms`)); }, timeoutMs);
      const cleanup = (): void => { clearTimeout(timer); this.events.off('change', onChange); };
      this.events.on('change', onChange);
    });
  }

  keys(prefix = ''): string[] {
    return [...this.values.keys()].filter((key) => key.startsWith(prefix) && this.live(key) !== undefined).sort();
  }

  /** Jobs added and not yet handled, per queue (pairId). */
  waitingJobs(pairId: string): readonly string[] { return (this.queues.get(pairId) ?? []).map((job) => job.id); }

  // --- the server side of the commands -------------------------------------------------------

  live(key: string): Value | undefined {
    const value = this.values.get(key);
    if (value?.expiresAt !== undefined && value.expiresAt <= this.now()) { this.values.delete(key); return undefined; }
    return value;
  }

  write(key: string, data: Value['data'], ttlMs?: number): void {
    this.values.set(key, ttlMs === undefined ? { data } : { data, expiresAt: this.now() + ttlMs });
    this.changed();
  }

  remove(key: string): boolean {
    const existed = this.live(key) !== undefined;
    this.values.delete(key);
    if (existed) this.changed();
    return existed;
  }

  publish(channel: string, message: string): void {
    for (const { client, onMessage } of this.subscribers.get(channel) ?? []) {
      if (client.connected) queueMicrotask(() => { onMessage(message); this.changed(); });
    }
  }

  subscribe(channel: string, client: MemoryTransport, onMessage: (message: string) => void): () => void {
    const entry = { client, onMessage };
    const set = this.subscribers.get(channel) ?? new Set();
    set.add(entry);
    this.subscribers.set(channel, set);
    return () => { set.delete(entry); };
  }

  addJob(pairId: string, id: string, data: EpochJobData): void {
    const queue = this.queues.get(pairId) ?? [];
    this.queues.set(pairId, queue);
    if (queue.some((job) => job.id === id)) return; // BullMQ: a job id already waiting is not added again
    queue.push({ id, data });
    this.jobLog.push(id);
    this.changed();
    this.dispatch(pairId);
  }

  consume(pairId: string, consumer: Consumer): () => void {
    this.consumers.set(pairId, consumer);
    this.dispatch(pairId);
    return () => { if (this.consumers.get(pairId) === consumer) this.consumers.delete(pairId); };
  }

  /** Hands waiting jobs to the pair's consumer (if connected); a rejected job is redelivered. */
  dispatch(pairId: string): void {
    const consumer = this.consumers.get(pairId);
    const queue = this.queues.get(pairId);
    if (!consumer || !queue || !consumer.client.connected) return;
    while (queue.length > 0 && consumer.active < consumer.concurrency) {
      const job = queue.shift()!;
      consumer.active++;
      queueMicrotask(() => {
        consumer.handler({ id: job.id, data: job.data })
          .catch(() => { queue.push(job); })
          .finally(() => { consumer.active--; this.changed(); this.dispatch(pairId); });
      });
    }
  }

  changed(): void { this.events.emit('change'); }
}

export class MemoryTransport implements ReplicationTransport {
  readonly store: KeyValueStore;
  private up = true;
  private readonly waiters = new Set<() => void>();
  private readonly closers = new Set<() => void>();
  closed = false;

  constructor(readonly server: MemoryStore) {
    this.store = new MemoryCommands(server, () => this.check());
  }

  get connected(): boolean { return this.up && !this.closed; }

  /** Cuts this client off the store: commands reject, messages to it are lost, its consumer stops. */
  disconnect(): void { this.up = false; this.server.changed(); }

  reconnect(): void {
    this.up = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    for (const pairId of this.consumedPairs) this.server.dispatch(pairId);
    this.server.changed();
  }

  async whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.waiters.delete(done); resolve(); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); resolve(); };
      this.waiters.add(done);
    });
  }

  subscribe(channel: string, onMessage: (message: string) => void): Subscription {
    const unsubscribe = this.server.subscribe(channel, this, onMessage);
    this.closers.add(unsubscribe);
    return { close: async () => { unsubscribe(); this.closers.delete(unsubscribe); } };
  }

  epochProducer(pairId: string): EpochProducer {
    return {
      add: async (data, jobId) => { this.check(); this.server.addJob(pairId, jobId, data); },
      close: async () => undefined,
    };
  }

  private readonly consumedPairs = new Set<string>();

  epochConsumer(pairId: string, handler: (job: EpochJob) => Promise<void>, options: EpochConsumerOptions): EpochConsumer {
    const stop = this.server.consume(pairId, { client: this, handler, concurrency: options.concurrency, active: 0 });
    this.consumedPairs.add(pairId);
    this.closers.add(stop);
    return { close: async () => { stop(); this.closers.delete(stop); this.consumedPairs.delete(pairId); } };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const close of this.closers) close();
    this.closers.clear();
  }

  private check(): void {
    if (!this.connected) throw new Error('store unreachable (fake transport disconnected)');
  }
}

class MemoryCommands implements KeyValueStore {
  constructor(private readonly server: MemoryStore, private readonly check: () => void) {}

  async get(key: string): Promise<string | null> {
    this.check();
    const data = this.server.live(key)?.data;
    return data === undefined ? null : typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString() : wrongType(key);
  }

  async getBuffer(key: string): Promise<Buffer | null> {
    this.check();
    const data = this.server.live(key)?.data;
    return data === undefined ? null : typeof data === 'string' ? Buffer.from(data) : Buffer.isBuffer(data) ? Buffer.from(data) : wrongType(key);
  }

  async set(key: string, value: string | Buffer, options: SetOptions = {}): Promise<boolean> {
    this.check();
    return this.setNow(key, value, options);
  }

  async del(...keys: string[]): Promise<number> {
    this.check();
    return keys.filter((key) => this.server.remove(key)).length;
  }

  async exists(key: string): Promise<boolean> {
    this.check();
    return this.server.live(key) !== undefined;
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    this.check();
    this.saddNow(key, members);
  }

  async smembers(key: string): Promise<string[]> {
    this.check();
    const data = this.server.live(key)?.data;
    return data === undefined ? [] : data instanceof Set ? [...data] : wrongType(key);
  }

  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<void> {
    this.check();
    const data = this.server.live(key)?.data;
    const hash = data === undefined ? new Map<string, string>() : data instanceof Map ? data : wrongType(key);
    for (const [field, value] of Object.entries(fields)) hash.set(field, value);
    this.server.write(key, hash);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    this.check();
    const data = this.server.live(key)?.data;
    return data === undefined ? {} : data instanceof Map ? Object.fromEntries(data) : wrongType(key);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.check();
    this.server.publish(channel, message);
  }

  async batch(writes: readonly BatchWrite[]): Promise<void> {
    this.check();
    for (const write of writes) {
      if (write.op === 'set') this.setNow(write.key, write.value, write.options ?? {});
      else if (write.op === 'sadd') this.saddNow(write.key, write.members);
      else this.server.publish(write.channel, write.message);
    }
  }

  async compareAndSet(key: string, expected: string | null, value: string): Promise<boolean> {
    this.check();
    const data = this.server.live(key)?.data;
    const current = data === undefined ? null : typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString() : wrongType(key);
    if (current !== expected) return false;
    this.server.write(key, value);
    return true;
  }

  private setNow(key: string, value: string | Buffer, options: SetOptions): boolean {
    if (options.ifAbsent && this.server.live(key) !== undefined) return false;
    this.server.write(key, Buffer.isBuffer(value) ? Buffer.from(value) : value, options.ttlMs);
    return true;
  }

  private saddNow(key: string, members: readonly string[]): void {
    const data = this.server.live(key)?.data;
    const set = data === undefined ? new Set<string>() : data instanceof Set ? data : wrongType(key);
    for (const member of members) set.add(member);
    this.server.write(key, set);
  }
}

function wrongType(key: string): never {
  throw new Error(`WRONGTYPE ${key}`);
}
