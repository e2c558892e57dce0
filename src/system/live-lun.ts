/** A LUN as the SystemView shows it; write protection is the SCSI unit's own flag, not a copy. */
import type { ObservableBackstore } from '../storage/backstore.ts';
import type { UnitHandle } from './components.ts';
import type { LunView } from './view.ts';

export interface LiveLunInit {
  readonly targetIqn: string;
  readonly lun: number;
  readonly file?: string;
  readonly naa: string;
  readonly serial: string;
  readonly backstore: ObservableBackstore;
  readonly unit: UnitHandle;
  /** The LUN is configured `readOnly`: no replication role change may make it writable. */
  readonly readOnly?: boolean;
}

export class LiveLun implements LunView {
  readonly targetIqn: string;
  readonly lun: number;
  readonly file?: string;
  readonly naa: string;
  readonly serial: string;
  readonly backstore: ObservableBackstore;
  private readonly unit: UnitHandle;
  private readonly readOnly: boolean;

  constructor(init: LiveLunInit) {
    this.targetIqn = init.targetIqn;
    this.lun = init.lun;
    if (init.file !== undefined) this.file = init.file;
    this.naa = init.naa;
    this.serial = init.serial;
    this.backstore = init.backstore;
    this.unit = init.unit;
    this.readOnly = init.readOnly ?? false;
  }

  get sizeBytes(): number {
    return this.backstore.sizeBytes;
  }

  get blockSize(): number {
    return this.backstore.blockSize;
  }

  get writeProtected(): boolean {
    return this.unit.writeProtected;
  }

  /** Replication fences and unfences through this; a configured readOnly LUN stays protected. */
  set writeProtected(value: boolean) {
    this.unit.writeProtected = value || this.readOnly;
  }
}
