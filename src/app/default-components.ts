/** The real parts of a system: the backstore plug-ins, the SCSI core, the iSCSI fabric, CIM. */
import { startCimServer } from '../cim/index.ts';
import { IscsiFabric } from '../iscsi/fabric.ts';
import { LogicalUnit } from '../scsi/logical-unit.ts';
import { createScsiTarget } from '../scsi/scsi-target.ts';
import { BufferPool } from '../storage/buffer-pool.ts';
import { openBackstore } from '../system/backstore-registry.ts';
import type { SystemComponents, UnitHandle } from '../system/components.ts';

export function defaultComponents(): SystemComponents {
  // Data-In buffers shared by every LUN of the system (the read path returns them after sending).
  const readBuffers = new BufferPool();
  return {
    openBackstore,
    buildTarget: (target, specs) => {
      const units = specs.map((spec) => new LogicalUnit({
        lun: spec.config.lun,
        backstore: spec.backstore,
        naa: spec.naa,
        serial: spec.serial,
        ...(spec.persistentReservationFile === undefined ? {} : { persistentReservationFile: spec.persistentReservationFile }),
        readBuffers,
        writeProtected: spec.config.readOnly,
        ...(spec.config.thinProvisioning === undefined ? {} : { thinProvisioning: spec.config.thinProvisioning }),
      }));
      const device = createScsiTarget({ targetIqn: target.iqn, units, portalGroupTags: target.portalGroupTags });
      return {
        device,
        units: new Map<number, UnitHandle>(units.map((unit) => [unit.lun, unit])),
        counters: { copyOperations: device.copyOperations, io: device.io },
      };
    },
    createFabric: (catalog) => new IscsiFabric(catalog),
    startCim: (view, cim) => startCimServer(view, cim),
  };
}
