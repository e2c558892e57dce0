/**
 * A KeyValueStore of its own for a reader outside the systems (`iscsi-sim status`, the lab's progress
 * and live line, the scenario driver): one Redis or a Redis Cluster alike (util/redis-endpoint.ts), with
 * the caller's bounds. Commands fail fast while disconnected (unless queueWhileConnecting), so a caller
 * says "Redis unreachable" instead of waiting.
 */
import { connectRedis, type ConnectOptions, type RedisClient } from '../../util/redis-endpoint.ts';
import { RedisStore } from './redis-store.ts';
import type { KeyValueStore } from './transport.ts';

export interface StoreConnectionOptions {
  /** Bound (ms) on connecting and on each command: a Redis that accepts but never answers is caught. */
  readonly deadlineMs?: number;
  /** Reconnect after a lost connection this long after the attempt-th try (ms); absent: never. */
  readonly reconnectMs?: (attempt: number) => number;
  /** Times a command is retried through a reconnect. @defaultValue 0 */
  readonly retries?: number;
  /** Connect only when `connect()` is called. @defaultValue false */
  readonly lazy?: boolean;
  /** Hold commands issued while (re)connecting instead of failing them. @defaultValue false */
  readonly queueWhileConnecting?: boolean;
}

export class StoreConnection {
  readonly store: KeyValueStore;
  private readonly redis: RedisClient;
  private lastErrorValue: string | undefined;

  constructor(readonly url: string, options: StoreConnectionOptions = {}) {
    const { deadlineMs, reconnectMs, retries = 0, lazy = false, queueWhileConnecting = false } = options;
    const connect: ConnectOptions = {
      lazyConnect: lazy,
      maxRetriesPerRequest: retries,
      enableOfflineQueue: queueWhileConnecting,
      retryStrategy: reconnectMs ?? (() => null),
      ...(deadlineMs === undefined ? {} : { connectTimeout: deadlineMs, commandTimeout: deadlineMs }),
    };
    this.redis = connectRedis(url, connect);
    this.redis.on('error', (err: Error) => { this.lastErrorValue = err.message; });
    this.store = new RedisStore(this.redis);
  }

  /** The connection's last error (refused, reset, ...): more telling than a command's rejection. */
  get lastError(): string | undefined { return this.lastErrorValue; }

  get connected(): boolean { return this.redis.status === 'ready'; }

  /** Connects a lazy connection (rejects when it cannot). */
  async connect(): Promise<void> {
    if (this.redis.status === 'wait' || this.redis.status === 'end' || this.redis.status === 'close') await this.redis.connect();
  }

  close(): void { this.redis.disconnect(); }
}

/** Whether a command failed because the store did not answer within the connection's deadline. */
export function isDeadlineError(err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out';
}
