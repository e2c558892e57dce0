/** Fakes for assembling a System in unit tests: in-memory backstores, a recording fabric. */
import type { LunConfig, PortalConfig, TargetConfig } from '../../../src/config/types.ts';
import type { TargetCatalog } from '../../../src/iscsi/catalog.ts';
import type { ScsiTargetDevice } from '../../../src/scsi/command.ts';
import type { Backstore } from '../../../src/storage/backstore.ts';
import type { BoundPortal, BuiltTarget, Fabric, SystemComponents, UnitHandle, UnitSpec } from '../../../src/system/components.ts';

export interface FakeWorld {
  readonly components: SystemComponents;
  readonly events: string[];
  catalog?: TargetCatalog;
  /** Port numbers a listen on port 0 hands out. */
  nextPort: number;
  failListenOn?: number;
}

function fakeBackstore(config: LunConfig, events: string[]): Backstore {
  return {
    label: config.file ?? 'memory',
    sizeBytes: config.sizeBytes,
    capabilities: { deallocate: false, allocationMap: false, resize: false, persistent: true },
    blockSize: config.blockSize,
    read: async (_offset, length) => Buffer.alloc(length),
    write: async () => undefined,
    flush: async () => void events.push(`flush ${config.file}`),
    unmap: async () => undefined,
    allocation: async (offset, length) => [{ offset, length, mapped: false }],
    resize: async () => undefined,
    close: async () => void events.push(`close ${config.file}`),
  };
}

function fakeDevice(luns: readonly number[]): ScsiTargetDevice {
  return {
    luns,
    execute: async () => ({ status: 0 }),
    reset: () => undefined,
    nexusAdded: () => undefined,
    nexusRemoved: () => undefined,
  };
}

/** The world's components, each backstore opened through `open` (`opened` is the fake's own): a test's fault for one LUN. */
export function withBackstores(world: FakeWorld, open: (lun: LunConfig, opened: () => Promise<Backstore>) => Promise<Backstore>): SystemComponents {
  return { ...world.components, openBackstore: (lun, context) => open(lun, () => world.components.openBackstore(lun, context)) };
}

export function fakeWorld(): FakeWorld {
  const events: string[] = [];
  const world: FakeWorld = {
    events,
    nextPort: 40000,
    components: {
      openBackstore: async (lun) => {
        events.push(`open ${lun.file}`);
        return fakeBackstore(lun, events);
      },
      buildTarget: (target: TargetConfig, units: readonly UnitSpec[]): BuiltTarget => ({
        device: fakeDevice(units.map((u) => u.config.lun)),
        units: new Map<number, UnitHandle>(units.map((u) => [u.config.lun, { writeProtected: u.config.readOnly }])),
      }),
      createFabric: (catalog: TargetCatalog): Fabric => {
        world.catalog = catalog;
        return {
          listen: async (portal: PortalConfig): Promise<BoundPortal> => {
            if (portal.port === world.failListenOn) throw Object.assign(new Error('in use'), { code: 'EADDRINUSE' });
            events.push(`listen ${portal.address}:${portal.port}`);
            return { address: portal.address, port: portal.port === 0 ? world.nextPort++ : portal.port };
          },
          close: async () => void events.push('fabric close'),
        };
      },
    },
  };
  return world;
}
