/**
 * Source side: learns how far the replica got. Pub/sub gives low latency (sync mode waits on it);
 * polling the ack key covers messages lost while the subscriber was disconnected.
 */
import type { AckMessage } from '../apply/epoch-applier.ts';
import { pairKeys, type PairKeys } from '../keys.ts';
import type { ReplicationTransport, Subscription } from '../transport/transport.ts';

export class AckListener {
  private readonly keys: PairKeys;
  private subscription: Subscription | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(pairId: string, private readonly transport: ReplicationTransport, private readonly onAck: (ack: AckMessage) => void) {
    this.keys = pairKeys(pairId);
  }

  start(pollMs: number): void {
    this.subscription = this.transport.subscribe(this.keys.ackChannel, (message) => this.handle(message));
    this.pollTimer = setInterval(() => void this.poll(), pollMs);
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
        this.onAck({ generation: ack.generation, applied: ack.applied, at: typeof ack.at === 'number' ? ack.at : Date.now() });
      }
    } catch {
      // not ours / malformed: ignore
    }
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.subscription?.close();
  }
}
