/** A real ScsiTarget over a temp sparse file (wrapped for change capture, as the system does), with one or more nexuses, for unit tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ItNexus, ScsiResponse } from '../../../../src/scsi/command.ts';
import { LogicalUnit, type LogicalUnitOptions } from '../../../../src/scsi/logical-unit.ts';
import { createScsiTarget, type ScsiTarget, type ScsiTargetOptions } from '../../../../src/scsi/scsi-target.ts';
import { ObservedBackstore } from '../../../../src/storage/observed-backstore.ts';
import { SparseFileBackstore } from '../../../../src/storage/sparse-file-backstore.ts';

export const TARGET_IQN = 'iqn.2026-11.org.iscsi-sim:unit-test';

export function nexus(name = 'iqn.2026-11.org.test:init1', isid = '400001370000'): ItNexus {
  return { id: `${name},i,0x${isid}`, initiatorName: name, isid, targetName: TARGET_IQN, portalGroupTag: 1 };
}

export interface Harness {
  readonly target: ScsiTarget;
  readonly unit: LogicalUnit;
  readonly backstore: ObservedBackstore<SparseFileBackstore>;
  readonly dir: string;
  /** Where the unit keeps its APTPL state (next to the LUN file, as the system does for file LUNs). */
  readonly persistentReservationFile: string;
  run(cdb: Buffer, options?: { dataOut?: Buffer[]; lun?: number; from?: ItNexus; expectedLength?: number }): Promise<ScsiResponse>;
  /** Data-In as one buffer (releases pooled buffers). */
  data(response: ScsiResponse): Buffer;
}

interface TapLike {
  teardown(fn: () => Promise<void> | void): void;
}

export async function harness(t: TapLike, options: { blocks?: number; blockSize?: number; unit?: Partial<LogicalUnitOptions>; clearAttentions?: boolean; opcodes?: ScsiTargetOptions['opcodes'] } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'scsi-test-'));
  const blockSize = options.blockSize ?? 512;
  const file = await SparseFileBackstore.open({ path: join(dir, 'lun0.img'), sizeBytes: (options.blocks ?? 2048) * blockSize, blockSize });
  const backstore = new ObservedBackstore(file);
  const persistentReservationFile = `${file.path}.pr.json`;
  const unit = new LogicalUnit({ lun: 0, backstore, serial: 'TESTSERIAL0001', persistentReservationFile, ...options.unit });
  const target = createScsiTarget({ targetIqn: TARGET_IQN, units: [unit], opcodes: options.opcodes });
  const main = nexus();
  target.nexusAdded(main);
  if (options.clearAttentions ?? true) unit.unitAttentions.clear(main.id);
  t.teardown(async () => {
    await backstore.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    target, unit, backstore, dir, persistentReservationFile,
    run(cdb, o = {}) {
      const dataOut = o.dataOut ?? [];
      const expectedLength = o.expectedLength ?? dataOut.reduce((n, b) => n + b.length, 0);
      return Promise.resolve(target.execute({
        cdb, lun: o.lun ?? 0, nexus: o.from ?? main, taskAttribute: 1, expectedLength,
        readFlag: dataOut.length === 0, writeFlag: dataOut.length > 0, dataOut, dataOutLength: dataOut.reduce((n, b) => n + b.length, 0), signal: new AbortController().signal,
      }));
    },
    data(response) {
      const out = Buffer.concat((response.dataIn ?? []).map((b) => Buffer.from(b)));
      response.release?.();
      return out;
    },
  };
}
