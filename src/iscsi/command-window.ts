/**
 * The session's command numbering (RFC 7143 §3.2.2.1): ExpCmdSN/MaxCmdSN, silent discard of
 * out-of-window and duplicate commands, and in-order release of commands that arrived early.
 */
import { serialAdd, serialCompare } from './pdu.ts';

export type WindowVerdict = 'now' | 'later' | 'ignore';

export class CommandWindow {
  private expected: number;
  private outstanding = 0;
  private readonly early = new Map<number, () => void>();
  /** Highest MaxCmdSN ever sent: the initiator may use any CmdSN up to it. */
  private advertised: number;

  constructor(
    firstCmdSN: number,
    /** How many commands may be outstanding (the queue depth we offer). */
    private readonly depth = 128,
  ) {
    this.expected = firstCmdSN >>> 0;
    this.advertised = serialAdd(this.expected, depth - 1);
  }

  get expCmdSN(): number {
    return this.expected;
  }

  /**
   * MaxCmdSN for the next PDU we send. It shrinks as commands stay outstanding, so the initiator
   * never overruns `depth`, but it is never lowered below what was already advertised.
   */
  advertise(): number {
    const room = Math.max(0, this.depth - this.outstanding - this.early.size);
    const max = serialAdd(this.expected, room - 1);
    if (serialCompare(max, this.advertised) > 0) this.advertised = max;
    return this.advertised;
  }

  /** A task started / finished: adjusts MaxCmdSN. */
  taskStarted(): void {
    this.outstanding += 1;
  }
  taskFinished(): void {
    if (this.outstanding > 0) this.outstanding -= 1;
  }

  /**
   * Classifies a non-immediate command. 'now': run it (ExpCmdSN advanced); 'later': held until the
   * gap before it fills (`run` is called then); 'ignore': outside the window or a duplicate.
   */
  admit(cmdSN: number, run: () => void): WindowVerdict {
    const distance = serialCompare(cmdSN, this.expected);
    if (distance < 0 || serialCompare(cmdSN, this.advertised) > 0) return 'ignore';
    if (distance > 0) {
      if (this.early.has(cmdSN >>> 0)) return 'ignore';
      this.early.set(cmdSN >>> 0, run);
      return 'later';
    }
    this.expected = serialAdd(this.expected, 1);
    return 'now';
  }

  /** Runs held commands that became next in line; call after a 'now' command was handled. */
  drain(): void {
    for (let i = 0; i < this.depth && this.early.size > 0; i++) {
      const run = this.early.get(this.expected);
      if (!run) return;
      this.early.delete(this.expected);
      this.expected = serialAdd(this.expected, 1);
      run();
    }
  }

  clear(): void {
    this.early.clear();
  }
}
