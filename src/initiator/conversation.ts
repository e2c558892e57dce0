/**
 * One initiator connection read as a sequence of target PDUs: the fabric's PduParser frames the
 * stream, next() hands out one PDU at a time, and any stream error, framing error or close fails
 * the waiting (and every later) next().
 */
import type { Duplex } from 'node:stream';
import { PduParser } from '../iscsi/parser.ts';
import type { Pdu } from '../iscsi/pdu.ts';

/** Largest data segment accepted from a target (a discovery answer is text). */
const MAX_DATA_SEGMENT = 1 << 20;

export class Conversation {
  private readonly parser: PduParser;
  private readonly queue: Pdu[] = [];
  private waiter: { resolve: (p: Pdu) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  /** `problem` turns what went wrong into the caller's error type. */
  constructor(
    private readonly stream: Duplex,
    problem: (message: string) => Error,
  ) {
    this.parser = new PduParser({ pdu: (pdu) => this.deliver(pdu), error: (error) => this.fail(problem(`malformed PDU from the target: ${error.message}`)) }, MAX_DATA_SEGMENT);
    stream.on('data', (chunk: Buffer) => this.parser.push(chunk));
    stream.on('error', (err) => this.fail(err));
    stream.on('close', () => this.fail(problem('connection closed by the target')));
  }

  private deliver(pdu: Pdu): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(pdu);
    } else this.queue.push(pdu);
  }

  fail(err: Error): void {
    this.failure ??= err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  next(): Promise<Pdu> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  send(buf: Buffer): void {
    this.stream.write(buf);
  }
}
