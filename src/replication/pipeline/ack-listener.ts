/**
 * Source side: learns how far the replica got. Pub/sub gives low latency (sync mode waits on it);
 * polling the ack key covers messages lost while the subscriber was disconnected.
 */
import type { AckMessage } from '../apply/epoch-applier.ts';
import { systemClock, type Clock } from '../clock.ts';
import { pairKeys, type PairKeys } from '../keys.ts';
import type { ReplicationTransport, Subscription } from '../transport/transport.ts';

export class AckListener {
  private readonly keys: PairKeys;
  private subscription: Subscription | undefined;
  private stopPolling: (() => void) | undefined;

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
    const message = await this.transport.store.get(this.keys.ack).catch(() => null);
    if (message) this.handle(message);
  }

  private handle(message: string): void {
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
