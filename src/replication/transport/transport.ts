/**
 * What the replication engine needs from the shared store between the systems, at the level it uses
 * it: keys and values (string or binary, with expiry), sets, hashes, all-or-nothing batches of writes,
 * pub/sub channels, and per pair a queue of epoch announcements (producer on the source, consumer on
 * the replica). The engine, its pairs, the shipper, the applier, resync and verify are given one
 * transport (built by the composition root), so unit tests run them over an in-memory fake and another
 * deployment (Redis Cluster, a shared connection) plugs in without touching them.
 *
 * Key names, hash tags and the order of writes stay with the callers (src/replication/keys.ts and the
 * pipeline): a transport stores what it is told, where it is told, in the order it is told.
 */

/** The job one epoch announcement carries: small, JSON. */
export interface EpochJobData {
  readonly pair: string;
  readonly generation: number;
  readonly epoch: number;
  /** Key of the payload (written before the job is added). */
  readonly key: string;
  readonly bytes: number;
  readonly resync: boolean;
}

/** One delivered announcement (data may be malformed: it crossed the network). */
export interface EpochJob {
  readonly id: string | undefined;
  readonly data: EpochJobData | undefined;
}

export interface SetOptions {
  /** The key expires after this many ms. */
  readonly ttlMs?: number;
  /** Write only if the key does not exist (NX). */
  readonly ifAbsent?: boolean;
}

/** One write of an atomic batch. */
export type BatchWrite =
  | { readonly op: 'set'; readonly key: string; readonly value: string; readonly options?: SetOptions }
  | { readonly op: 'sadd'; readonly key: string; readonly members: readonly string[] }
  | { readonly op: 'publish'; readonly channel: string; readonly message: string };

/**
 * Commands on the store. They fail fast (reject) while the store is unreachable: callers turn that into
 * "the pair goes ahead" or a retry by the next reconcile, never into a wait.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  getBuffer(key: string): Promise<Buffer | null>;
  /**
   * Resolves false when `ifAbsent` found the key present. A Buffer value may be sent as it is (not
   * copied): keep it unchanged until this settles, and after a rejection do not reuse it (the
   * connection may still be sending it).
   */
  set(key: string, value: string | Buffer, options?: SetOptions): Promise<boolean>;
  /** Removes the keys (at least one); resolves how many existed. */
  del(...keys: string[]): Promise<number>;
  exists(key: string): Promise<boolean>;
  sadd(key: string, ...members: string[]): Promise<void>;
  smembers(key: string): Promise<string[]>;
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<void>;
  hgetall(key: string): Promise<Record<string, string>>;
  publish(channel: string, message: string): Promise<void>;
  /** Applies the writes in order as one transaction (MULTI/EXEC): all of them, nothing in between. */
  batch(writes: readonly BatchWrite[]): Promise<void>;
  /**
   * Writes `value` only if the key holds `expected` at that moment (null: only if it is absent), as
   * one atomic step; resolves whether it wrote. One key, so it holds on a cluster too. The building
   * block of read-modify-write updates: read, compute, compareAndSet, and read again when it lost.
   */
  compareAndSet(key: string, expected: string | null, value: string): Promise<boolean>;
}

/** A live subscription; messages published while the store is unreachable are lost (poll to cover them). */
export interface Subscription {
  close(): Promise<void>;
}

/** Source side of a pair's epoch queue. */
export interface EpochProducer {
  /** Adds the announcement; an id already queued is not queued twice (a resend dedupes). */
  add(data: EpochJobData, jobId: string): Promise<void>;
  close(): Promise<void>;
}

export interface EpochConsumerOptions {
  /** Jobs handled at once (ordering comes from epoch numbers, not from the queue). */
  readonly concurrency: number;
  readonly onError: (err: Error) => void;
}

/** Replica side of a pair's epoch queue: calls the handler for each announcement (again if it rejects). */
export interface EpochConsumer {
  /** `force`: do not wait for the store (it is unreachable); an unfinished job is redelivered later. */
  close(force: boolean): Promise<void>;
}

export interface ReplicationTransport {
  readonly store: KeyValueStore;
  /** Whether the store answers right now (health checks; skip work that needs it). */
  readonly connected: boolean;
  /** Resolves once connected, or after `timeoutMs` without (then `connected` stays false). */
  whenConnected(timeoutMs: number): Promise<void>;
  /** Delivers each message published on `channel` until closed (re-subscribed after reconnects). */
  subscribe(channel: string, onMessage: (message: string) => void): Subscription;
  epochProducer(pairId: string): EpochProducer;
  epochConsumer(pairId: string, handler: (job: EpochJob) => Promise<void>, options: EpochConsumerOptions): EpochConsumer;
  /** Drops every connection (producers, consumers and subscriptions are closed by their owners first). */
  close(): Promise<void>;
}
