/**
 * One pair's emulated link: every transmission of the shipping path goes through `transmit`. A
 * partition refuses it at once (the source goes ahead, as when Redis or the peer is unreachable); a
 * bandwidth cap serialises payload bytes on a virtual clock (no burst: over any span the link carried
 * at most rate × span, plus the transmission in progress); a lost transmission costs its bandwidth and
 * is sent again after the retransmission timeout, up to MAX_ATTEMPTS; the added latency delays each
 * delivery without serialising them (a long fat pipe keeps many epochs in flight).
 */
import { CLEAR_LINK, describeLink, isClear, type LinkConditions } from './link-conditions.ts';

/** A transmission lost this many times in a row fails (the pair goes ahead and resyncs later). */
export const MAX_ATTEMPTS = 8;
const MIN_RETRANSMIT_MS = 200;

export class LinkPartitionedError extends Error {
  constructor(pairId: string) {
    super(`replication link of ${pairId} is partitioned (emulated)`);
    this.name = 'LinkPartitionedError';
  }
}

/** What the link did so far (counted in /metrics). */
export interface LinkCounters {
  /** Transmissions refused because the link was partitioned. */
  refused: number;
  /** Transmissions lost (each was retransmitted or, after MAX_ATTEMPTS, failed). */
  lost: number;
  /** Retransmissions after a loss. */
  retransmitted: number;
  /** Transmissions that failed after MAX_ATTEMPTS losses. */
  failed: number;
  /** Payload bytes carried (retransmissions included). */
  bytes: number;
  /** Seconds transmissions waited for the bandwidth cap. */
  rateWaitSeconds: number;
  /** Seconds of added latency. */
  delaySeconds: number;
}

export interface LinkShaperOptions {
  /** Random source for loss (tests inject a fixed sequence). @defaultValue Math.random */
  readonly random?: () => number;
}

export class LinkShaper {
  private current: LinkConditions = CLEAR_LINK;
  /** Virtual clock of the bandwidth cap: when the link is free to start the next transmission. */
  private freeAt = 0;
  readonly counters: LinkCounters = { refused: 0, lost: 0, retransmitted: 0, failed: 0, bytes: 0, rateWaitSeconds: 0, delaySeconds: 0 };
  private readonly random: () => number;

  constructor(readonly pairId: string, options: LinkShaperOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  get conditions(): LinkConditions { return this.current; }
  get partitioned(): boolean { return this.current.partitioned; }
  get clear(): boolean { return isClear(this.current); }
  describe(): string { return describeLink(this.current); }

  set(conditions: LinkConditions): void {
    this.current = conditions;
    if (conditions.rateBytesPerSecond === undefined) this.freeAt = 0;
  }

  /**
   * Carries one transmission of `bytes` payload bytes, then runs `deliver` (the real send). Rejects
   * with LinkPartitionedError while partitioned (also when the partition began during the wait).
   */
  async transmit<T>(bytes: number, deliver: () => Promise<T>): Promise<T> {
    if (this.clear) return deliver();
    for (let attempt = 1; ; attempt++) {
      this.refuseIfPartitioned();
      await this.occupy(bytes);
      this.counters.bytes += bytes;
      const { latencyMs, loss } = this.current;
      if (loss > 0 && this.random() < loss) {
        this.counters.lost++;
        if (attempt >= MAX_ATTEMPTS) {
          this.counters.failed++;
          throw new Error(`replication link of ${this.pairId} lost the same transmission ${MAX_ATTEMPTS} times (emulated loss ${describeLink(this.current)})`);
        }
        // The sender learns of the loss one retransmission timeout later (at least a round trip).
        await sleep(Math.max(MIN_RETRANSMIT_MS, 2 * latencyMs));
        this.counters.retransmitted++;
        continue;
      }
      if (latencyMs > 0) {
        this.counters.delaySeconds += latencyMs / 1000;
        await sleep(latencyMs);
      }
      this.refuseIfPartitioned();
      return deliver();
    }
  }

  /** Probes (is the peer there?) cross the link too: not while partitioned, and late by the latency. */
  async probe(ask: () => Promise<boolean>): Promise<boolean> {
    if (this.current.partitioned) return false;
    if (this.current.latencyMs > 0) await sleep(this.current.latencyMs);
    if (this.current.partitioned) return false;
    return ask();
  }

  private refuseIfPartitioned(): void {
    if (!this.current.partitioned) return;
    this.counters.refused++;
    throw new LinkPartitionedError(this.pairId);
  }

  /** Waits for this transmission's slot under the bandwidth cap (reserved synchronously: FIFO). */
  private async occupy(bytes: number): Promise<void> {
    const rate = this.current.rateBytesPerSecond;
    if (rate === undefined || bytes === 0) return;
    const now = Date.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + (bytes / rate) * 1000;
    const wait = this.freeAt - now;
    this.counters.rateWaitSeconds += wait / 1000;
    await sleep(wait);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
