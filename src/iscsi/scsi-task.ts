/**
 * One SCSI command in flight on a session: its identity, the write data gathered so far and the
 * state of its unsolicited and R2T-solicited data sequences (RFC 7143 §4.2.1, §11.7, §11.8).
 */
import type { ItNexus, ScsiCommand, TaskAttribute } from '../scsi/command.ts';
import { BufferPool, type PooledBuffer } from '../storage/buffer-pool.ts';

export interface R2tState {
  readonly ttt: number;
  readonly offset: number;
  readonly length: number;
  received: number;
  nextDataSN: number;
}

const NO_DATA_OUT = Object.freeze([]) as unknown as Buffer[];
/**
 * Write payload buffers, reused across commands: the payload is copied out of the socket's receive
 * buffer (itself reused), so a steady write load allocates no memory per command (fresh buffers per
 * PDU made V8 run a full mark-compact for every ~64 MB written). Idle buffers are capped in bytes.
 */
const WRITE_BUFFERS = new BufferPool({ maxIdleBytes: 64 * 1024 * 1024 });
/** Never written to: only tasks with write data get R2Ts. */
const NO_R2TS = new Map<number, R2tState>();

export interface TaskInit {
  readonly itt: number;
  readonly lun: number;
  readonly cdb: Buffer;
  readonly expectedLength: number;
  readonly readFlag: boolean;
  readonly writeFlag: boolean;
  readonly attribute: TaskAttribute;
  readonly cmdSN: number;
}

export class ScsiTask {
  readonly itt: number;
  readonly lun: number;
  readonly cdb: Buffer;
  readonly expectedLength: number;
  readonly readFlag: boolean;
  readonly writeFlag: boolean;
  readonly attribute: TaskAttribute;
  readonly cmdSN: number;
  /** Created on first use: most commands never look at their AbortSignal. */
  private controller: AbortController | undefined;
  private abortRequested = false;

  /**
   * The write payload received so far: one view of the task's payload buffer (a shared frozen empty
   * list for commands without data).
   */
  readonly dataOut: Buffer[];
  received = 0;
  /** Holds the write payload; back to the pool once no I/O can read it (releaseData). */
  private payload: PooledBuffer | undefined;
  /** Bytes of write data this command moves: ExpectedDataTransferLength for writes, else 0. */
  readonly writeLength: number;

  /** Unsolicited Data-Out still expected (F=0 on the command, InitialR2T=No). */
  unsolicitedOpen = false;
  unsolicitedLimit = 0;
  unsolicitedDataSN = 0;

  nextR2TOffset = 0;
  r2tSN = 0;
  readonly r2ts: Map<number, R2tState>;

  executing = false;
  /** Counted in the session's buffered-write budget. */
  holdsWriteBudget = false;

  constructor(init: TaskInit) {
    this.itt = init.itt;
    this.lun = init.lun;
    this.cdb = init.cdb;
    this.expectedLength = init.expectedLength;
    this.readFlag = init.readFlag;
    this.writeFlag = init.writeFlag;
    this.attribute = init.attribute;
    this.cmdSN = init.cmdSN;
    this.writeLength = init.writeFlag ? init.expectedLength : 0;
    // Reads and non-data commands (the hot path) allocate neither.
    this.dataOut = this.writeLength > 0 ? [] : NO_DATA_OUT;
    this.r2ts = this.writeLength > 0 ? new Map() : NO_R2TS;
  }

  get aborted(): boolean {
    return this.abortRequested;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortRequested && !this.controller.signal.aborted) this.controller.abort();
    return this.controller.signal;
  }

  get dataComplete(): boolean {
    return this.received >= this.writeLength;
  }

  abort(): void {
    this.abortRequested = true;
    if (this.controller && !this.controller.signal.aborted) this.controller.abort();
    this.r2ts.clear();
    this.unsolicitedOpen = false;
    // An executing command's I/O may still read the payload: its completion releases it.
    if (!this.executing) this.releaseData();
  }

  /**
   * Copies write payload (views of receive memory that is about to be reused) to offset `at` of the
   * payload, right after what was received; the caller advances `received`.
   */
  appendData(data: Buffer, at: number): void {
    if (at + data.length > this.writeLength) throw new RangeError(`write payload beyond the expected ${this.writeLength} bytes`);
    this.payload ??= WRITE_BUFFERS.acquire(this.writeLength);
    data.copy(this.payload.buffer, at);
    this.dataOut[0] = this.payload.buffer.subarray(0, at + data.length);
  }

  /** The payload buffer goes back to the pool: the command finished or never ran. Idempotent. */
  releaseData(): void {
    const payload = this.payload;
    if (payload === undefined) return;
    this.payload = undefined;
    this.dataOut.length = 0;
    payload.release();
  }
}

/**
 * What the SCSI layer sees of a task. A class, so `signal`/`aborted` are prototype getters: an
 * object literal with getters would build its accessors anew for every command.
 */
export class TaskCommand implements ScsiCommand {
  readonly cdb: Buffer;
  readonly lun: number;
  readonly taskAttribute: TaskAttribute;
  readonly expectedLength: number;
  readonly readFlag: boolean;
  readonly writeFlag: boolean;
  readonly dataOut: readonly Buffer[];
  readonly dataOutLength: number;

  constructor(
    private readonly task: ScsiTask,
    readonly nexus: ItNexus,
  ) {
    this.cdb = task.cdb;
    this.lun = task.lun;
    this.taskAttribute = task.attribute;
    this.expectedLength = task.expectedLength;
    this.readFlag = task.readFlag;
    this.writeFlag = task.writeFlag;
    this.dataOut = task.dataOut;
    this.dataOutLength = task.received;
  }

  get signal(): AbortSignal {
    return this.task.signal;
  }

  get aborted(): boolean {
    return this.task.aborted;
  }
}
