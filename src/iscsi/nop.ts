/**
 * NOP-Out / NOP-In (RFC 7143 §11.18, §11.19): answering the initiator's pings, and our own
 * keep-alive pings on an idle connection, closing the connection when one goes unanswered.
 */
import { RESERVED_TAG } from './constants.ts';
import type { PduSender } from './data-in.ts';
import { ittOf, lunField, type Pdu } from './pdu.ts';
import { nopIn } from './serializer.ts';

/** Answers a NOP-Out ping (ITT ≠ 0xffffffff) by echoing its LUN and data (§11.19). */
export function answerPing(sender: PduSender, pdu: Pdu): void {
  const itt = ittOf(pdu.bhs);
  const lun = Buffer.from(lunField(pdu.bhs));
  const data = pdu.data;
  sender.send((seq) => nopIn({ lun, itt, ttt: RESERVED_TAG, data }, seq), true);
}

export interface KeepAliveOptions {
  /** Idle time before we ping (ms); 0 disables. */
  readonly idleMs: number;
  /** How long a ping may go unanswered before the connection is closed (ms). */
  readonly timeoutMs: number;
}

export class KeepAlive {
  private timer: NodeJS.Timeout | undefined;
  private lastActivity = Date.now();
  private outstanding: { ttt: number; sentAt: number } | undefined;

  constructor(
    private readonly options: KeepAliveOptions,
    private readonly sender: PduSender,
    private readonly newTag: () => number,
    private readonly onDead: (reason: string) => void,
  ) {}

  start(): void {
    if (this.options.idleMs <= 0 || this.timer) return;
    const tick = Math.max(10, Math.min(this.options.idleMs, this.options.timeoutMs) / 2);
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  activity(): void {
    this.lastActivity = Date.now();
  }

  /** A NOP-Out with ITT 0xffffffff answering our ping. */
  answered(ttt: number): void {
    if (this.outstanding && this.outstanding.ttt === ttt) this.outstanding = undefined;
  }

  private check(): void {
    const now = Date.now();
    if (this.outstanding) {
      if (now - this.outstanding.sentAt > this.options.timeoutMs) {
        this.stop();
        this.onDead(`keep-alive NOP-In unanswered for ${this.options.timeoutMs} ms`);
      }
      return;
    }
    if (now - this.lastActivity < this.options.idleMs) return;
    const ttt = this.newTag();
    this.outstanding = { ttt, sentAt: now };
    // §11.19: a target-initiated ping has ITT 0xffffffff and does not advance StatSN.
    this.sender.send((seq) => nopIn({ lun: undefined, itt: RESERVED_TAG, ttt, data: Buffer.alloc(0) }, seq), false);
  }
}
