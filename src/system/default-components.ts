/** The real parts of a system: sparse-file backstores, the SCSI core, the iSCSI fabric, CIM. */
import { startCimServer } from '../cim/index.ts';
import { IscsiFabric } from '../iscsi/fabric.ts';
import { LogicalUnit } from '../scsi/logical-unit.ts';
import { createScsiTarget } from '../scsi/scsi-target.ts';
import { SparseFileBackstore } from '../storage/sparse-file-backstore.ts';
import type { SystemComponents, UnitHandle } from './components.ts';

export function defaultComponents(): SystemComponents {
  return {
    openBackstore: (lun) => SparseFileBackstore.open({ path: lun.file, sizeBytes: lun.sizeBytes, blockSize: lun.blockSize, create: true }),
    buildTarget: (target, specs) => {
      const units = specs.map((spec) => new LogicalUnit({
        lun: spec.config.lun,
        backstore: spec.backstore,
        naa: spec.naa,
        serial: spec.serial,
        writeProtected: spec.config.readOnly,
        ...(spec.config.thinProvisioning === undefined ? {} : { thinProvisioning: spec.config.thinProvisioning }),
      }));
      const device = createScsiTarget({ targetIqn: target.iqn, units, portalGroupTags: target.portalGroupTags });
      return {
        device,
        units: new Map<number, UnitHandle>(units.map((unit) => [unit.lun, unit])),
        counters: { copyOperations: device.copyOperations },
      };
    },
    createFabric: (catalog) => new IscsiFabric(catalog),
    startCim: (view, cim) => startCimServer(view, cim),
  };
}
