/**
 * All the channel subscriptions of one system over one subscriber client, whatever the number of
 * pairs: each channel is subscribed once and its messages are handed to every local handler. On a
 * Redis Cluster the channels are sharded (SSUBSCRIBE: one subscriber connection per master, kept by
 * ioredis across failovers and slot moves); on one Redis it is one SUBSCRIBE connection. Both
 * re-subscribe after a reconnect; a message published meanwhile is lost, which callers cover by polling
 * (see `onReconnect`).
 */
import type { RedisClient } from '../../util/redis-endpoint.ts';
import type { Subscription } from './transport.ts';

const RETRY_MS = 1000;

export class ChannelSubscriber {
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private closed = false;

  constructor(private readonly client: RedisClient, private readonly sharded: boolean, onReconnect: () => void) {
    client.on(sharded ? 'smessage' : 'message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
    client.on('ready', onReconnect);
  }

  get channelCount(): number { return this.handlers.size; }

  subscribe(channel: string, onMessage: (message: string) => void): Subscription {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      this.join(channel);
    }
    set.add(onMessage);
    return {
      close: async () => {
        const current = this.handlers.get(channel);
        if (!current?.delete(onMessage) || current.size > 0) return;
        this.handlers.delete(channel);
        // Not awaited: with Redis down the command waits in the offline queue until it is back, and a
        // shutdown must not wait for that (messages still arriving meanwhile find no handler).
        if (!this.closed) void (this.sharded ? this.client.sunsubscribe(channel) : this.client.unsubscribe(channel)).catch(() => undefined);
      },
    };
  }

  close(): void {
    this.closed = true;
    this.client.disconnect();
  }

  /** Subscribes, retrying while the channel is still wanted (a cluster still learning its slots refuses). */
  private join(channel: string): void {
    if (this.closed || !this.handlers.has(channel)) return;
    void (this.sharded ? this.client.ssubscribe(channel) : this.client.subscribe(channel)).catch(() => {
      setTimeout(() => this.join(channel), RETRY_MS).unref();
    });
  }
}
