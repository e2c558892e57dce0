/**
 * The backstore plug-ins a LUN's `backstore:` names, one factory each (tgt's backingstore_template
 * list). Adding a backstore: a kind in config/types.ts BACKSTORE_KINDS, a factory here, a line in the
 * README's configuration section. Every factory's result is wrapped for change capture by the system.
 */
import type { BackstoreKind, LunConfig } from '../config/types.ts';
import type { Backstore } from '../storage/backstore.ts';
import { MemoryBackstore } from '../storage/memory-backstore.ts';
import type { MemoryBudget } from '../storage/memory-budget.ts';
import { SparseFileBackstore } from '../storage/sparse-file-backstore.ts';

export interface BackstoreOpenContext {
  /** The LUN in words, for the backstore's messages ("LUN 0 of iqn..."). */
  readonly label: string;
  /** RAM the system's memory LUNs share (config memoryLimit). */
  readonly memoryBudget: MemoryBudget;
  /** The target the LUN belongs to (decorators key per-LUN state by it: fault rules). */
  readonly targetIqn?: string;
}

export type BackstoreFactory = (lun: LunConfig, context: BackstoreOpenContext) => Promise<Backstore>;

export const BACKSTORE_FACTORIES: Readonly<Record<BackstoreKind, BackstoreFactory>> = {
  file: (lun) => {
    if (lun.file === undefined) throw new Error('a file LUN needs a file');
    return SparseFileBackstore.open({ path: lun.file, sizeBytes: lun.sizeBytes, blockSize: lun.blockSize, create: true });
  },
  memory: async (lun, context) => new MemoryBackstore({
    sizeBytes: lun.sizeBytes, blockSize: lun.blockSize, budget: context.memoryBudget, label: `memory ${context.label}`,
  }),
};

export function openBackstore(lun: LunConfig, context: BackstoreOpenContext): Promise<Backstore> {
  return BACKSTORE_FACTORIES[lun.backstore](lun, context);
}
