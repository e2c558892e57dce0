/**
 * Per-LUN I/O of one SCSI target, kept by the dispatcher at command completion: plain running totals
 * (reads and writes that completed GOOD, with the bytes of the blocks they covered) and a completion
 * event for observers that want each command (latency histograms). The SCSI core knows nothing of
 * how these are exported; src/metrics reads them.
 */

export type IoKind = 'read' | 'write';

export interface IoCompletion {
  readonly lun: number;
  readonly kind: IoKind;
  /** Blocks the CDB covered × block size (WRITE SAME counts the blocks it wrote, not its one-block Data-Out). */
  readonly bytes: number;
  /** From dispatch to the response (the fabric's transfer time not included); 0 when no observer was registered at dispatch. */
  readonly seconds: number;
  /** Completed with GOOD status. */
  readonly ok: boolean;
}

export interface LunIoTotals {
  readOps: number;
  readBytes: number;
  writeOps: number;
  writeBytes: number;
  /** Read or write commands that ended in anything but GOOD. */
  errors: number;
}

export type IoListener = (completion: IoCompletion) => void;

export class TargetIoCounters {
  private readonly totals = new Map<number, LunIoTotals>();
  private readonly listeners = new Set<IoListener>();

  constructor(luns: Iterable<number>) {
    for (const lun of luns) this.totals.set(lun, { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0, errors: 0 });
  }

  /** Running totals per LUN number (live objects: read, do not keep). */
  get luns(): ReadonlyMap<number, Readonly<LunIoTotals>> {
    return this.totals;
  }

  get observed(): boolean {
    return this.listeners.size > 0;
  }

  record(completion: IoCompletion): void {
    const totals = this.totals.get(completion.lun);
    if (totals !== undefined) {
      if (!completion.ok) totals.errors += 1;
      else if (completion.kind === 'read') {
        totals.readOps += 1;
        totals.readBytes += completion.bytes;
      } else {
        totals.writeOps += 1;
        totals.writeBytes += completion.bytes;
      }
    }
    for (const listener of this.listeners) listener(completion);
  }

  /** Calls `listener` for every read/write completion until the returned function is called. */
  observe(listener: IoListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
