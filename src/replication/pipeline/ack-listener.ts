/**
 * Source side: learns how far the replica got. Pub/sub gives low latency (sync mode waits on it);
 * polling the ack key covers messages lost while the subscriber was disconnected (less often while the
 * key does not change: a sync-mode write then waits at most MAX_POLL_SKIP + 1 periods for a lost ack).
 */
import type { AckMessage } from '../apply/epoch-applier.ts';
import { systemClock, type Clock } from '../clock.ts';
import { pairKeys, type PairKeys } from '../keys.ts';
import type { ReplicationTransport, Subscription } from '../transport/transport.ts';

/** An unchanged ack key is read at least every this-many poll periods. */
const MAX_POLL_SKIP = 3;

export class AckListener {
  private readonly keys: PairKeys;
  private subscription: Subscription | undefined;
  private stopPolling: (() => void) | undefined;
  private lastMessage: string | undefined;
  private unchanged = 0;
  private skip = 0;

  constructor(
    pairId: string,
    private readonly transport: ReplicationTransport,
    private readonly onAck: (ack: AckMessage) => void,
    private readonly clock: Clock = systemClock,
  ) {
    this.keys = pairKeys(pairId);
  }

  start(pollMs: number): void {
    this.subscription = this.transport.subscribe(this.keys.ackChannel, (message) => this.handle(message));
    this.stopPolling = this.clock.every(pollMs, () => void this.poll());
  }

  async poll(): Promise<void> {
    if (!this.transport.connected) return;
    // The ack key has not changed for a while (an idle pair): look less often, up to every
    // MAX_POLL_SKIP-th period; any new ack (pub/sub or poll) brings polling back to every period.
    if (this.skip > 0) { this.skip--; return; }
    const message = await this.transport.store.get(this.keys.ack).catch(() => null);
    if (message && message === this.lastMessage) {
      this.unchanged = Math.min(this.unchanged + 1, MAX_POLL_SKIP);
      this.skip = this.unchanged;
      return;
    }
    if (message) this.handle(message);
  }

  private handle(message: string): void {
    if (message !== this.lastMessage) { this.lastMessage = message; this.unchanged = 0; this.skip = 0; }
    try {
      const ack = JSON.parse(message) as Partial<AckMessage>;
      if (typeof ack.generation === 'number' && typeof ack.applied === 'number') {
        this.onAck({ generation: ack.generation, applied: ack.applied, at: typeof ack.at === 'number' ? ack.at : this.clock.now() });
      }
    } catch {
      // not ours / malformed: ignore
    }
  }

  async close(): Promise<void> {
    this.stopPolling?.();
    await this.subscription?.close();
  }
}
