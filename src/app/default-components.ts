/**
 * The real parts of a system: the backstore plug-ins (each wrapped for fault injection), the SCSI
 * core, the iSCSI fabric, CIM. Each LUN's fault rules live on the board (its config `faults:` are
 * added when the LUN opens; a bad rule fails the start naming the field).
 */
import { startCimServer } from '../cim/index.ts';
import type { FaultBoard } from '../scsi/faults/fault-board.ts';
import { FaultyBackstore } from '../scsi/faults/faulty-backstore.ts';
import { IscsiFabric } from '../iscsi/fabric.ts';
import type { DevicePersonality } from '../config/types.ts';
import { LogicalUnit, type LogicalUnitOptions } from '../scsi/logical-unit.ts';
import { createScsiTarget } from '../scsi/scsi-target.ts';
import { BufferPool } from '../storage/buffer-pool.ts';
import { openBackstore } from '../system/backstore-registry.ts';
import type { SystemComponents, UnitHandle } from '../system/components.ts';

/** A LUN's configured personality as LogicalUnit options (absent fields keep the unit's defaults). */
function personalityOptions(personality: DevicePersonality | undefined): Partial<LogicalUnitOptions> {
  if (personality === undefined) return {};
  const { vendor, product, revision, removable, physicalBlockExponent, sanitize } = personality;
  return {
    ...(vendor === undefined ? {} : { vendor }),
    ...(product === undefined ? {} : { product }),
    ...(revision === undefined ? {} : { revision }),
    ...(removable === undefined ? {} : { removable }),
    ...(physicalBlockExponent === undefined ? {} : { physicalBlockExponent }),
    ...(sanitize === undefined ? {} : { sanitizeMinimumMs: sanitize.seconds * 1000 }),
  };
}

export function defaultComponents(faultBoard?: FaultBoard): SystemComponents {
  // Data-In buffers shared by every LUN of the system (the read path returns them after sending).
  const readBuffers = new BufferPool();
  return {
    openBackstore: async (lun, context) => {
      const inner = await openBackstore(lun, context);
      if (faultBoard === undefined) return inner;
      const iqn = context.targetIqn ?? '';
      const faults = faultBoard.register(iqn, lun.lun, () => Math.floor(inner.sizeBytes / inner.blockSize));
      try {
        for (const configured of lun.faults ?? []) faultBoard.addTo(iqn, lun.lun, configured.rule, configured.path);
      } catch (error) {
        await inner.close();
        throw error;
      }
      return new FaultyBackstore(inner, faults);
    },
    buildTarget: (target, specs) => {
      const units = specs.map((spec) => new LogicalUnit({
        lun: spec.config.lun,
        backstore: spec.backstore,
        naa: spec.naa,
        serial: spec.serial,
        ...(spec.persistentReservationFile === undefined ? {} : { persistentReservationFile: spec.persistentReservationFile }),
        readBuffers,
        ...(faultBoard === undefined ? {} : { faults: faultBoard.faultsOf(target.iqn, spec.config.lun) }),
        writeProtected: spec.config.readOnly,
        ...(spec.config.thinProvisioning === undefined ? {} : { thinProvisioning: spec.config.thinProvisioning }),
        ...personalityOptions(spec.config.personality),
      }));
      const device = createScsiTarget({ targetIqn: target.iqn, units, portalGroupTags: target.portalGroupTags });
      return {
        device,
        units: new Map<number, UnitHandle>(units.map((unit) => [unit.lun, unit])),
        counters: { copyOperations: device.copyOperations, io: device.io },
        capacityChanged: (lun: number) => device.capacityChanged(lun),
      };
    },
    createFabric: (catalog, settings) => new IscsiFabric(catalog, settings?.keepAlive === undefined ? {} : {
      keepAlive: { idleMs: settings.keepAlive.idleSeconds * 1000, timeoutMs: settings.keepAlive.timeoutSeconds * 1000 },
    }),
    startCim: (view, cim) => startCimServer(view, cim),
  };
}
