/**
 * An in-memory ScsiTargetDevice for fabric tests: TEST UNIT READY, INQUIRY, READ CAPACITY 10,
 * REPORT LUNS, READ/WRITE 10. It records what the fabric handed over; `hold` lets a test keep a
 * command pending (for task management).
 */
import { ScsiStatus, type ItNexus, type ScsiCommand, type ScsiResponse, type ScsiTargetDevice } from '../../../../src/scsi/command.ts';
import type { PortalAddress, TargetCatalog, TargetEntry, ChapCredentials } from '../../../../src/iscsi/catalog.ts';

export const BLOCK = 512;

export class FakeDevice implements ScsiTargetDevice {
  readonly luns = [0];
  readonly disk: Buffer;
  readonly commands: ScsiCommand[] = [];
  readonly resets: string[] = [];
  readonly nexuses = new Set<string>();
  /** When set, commands with this opcode stay pending until released or aborted. */
  hold: number | undefined;
  readonly held: { command: ScsiCommand; release: () => void }[] = [];
  private readonly heldWaiters: { count: number; resolve: () => void }[] = [];

  constructor(blocks = 2048) {
    this.disk = Buffer.alloc(blocks * BLOCK);
  }

  execute(command: ScsiCommand): Promise<ScsiResponse> {
    this.commands.push(command);
    if (this.hold === command.cdb[0]) {
      return new Promise((resolve) => {
        this.held.push({ command, release: () => resolve(this.run(command)) });
        for (const w of this.heldWaiters.filter((x) => x.count <= this.held.length)) {
          this.heldWaiters.splice(this.heldWaiters.indexOf(w), 1);
          w.resolve();
        }
      });
    }
    return Promise.resolve(this.run(command));
  }

  /** Resolves once `count` commands are being held (an event, not a poll). */
  whenHeld(count: number): Promise<void> {
    if (this.held.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.heldWaiters.push({ count, resolve }));
  }

  private run(command: ScsiCommand): ScsiResponse {
    const cdb = command.cdb;
    switch (cdb[0]) {
      case 0x00:
        return { status: ScsiStatus.Good };
      case 0x12: {
        const data = Buffer.alloc(36);
        data[2] = 6;
        data[3] = 2;
        data[4] = 31;
        data.write('FAKE    FABRIC-TEST     0001', 8, 'ascii');
        const alloc = cdb.readUInt16BE(3);
        return { status: ScsiStatus.Good, dataIn: [data.subarray(0, Math.min(alloc, 36))] };
      }
      case 0x25: {
        const data = Buffer.alloc(8);
        data.writeUInt32BE(this.disk.length / BLOCK - 1, 0);
        data.writeUInt32BE(BLOCK, 4);
        return { status: ScsiStatus.Good, dataIn: [data] };
      }
      case 0x9e: {
        const data = Buffer.alloc(32);
        data.writeBigUInt64BE(BigInt(this.disk.length / BLOCK - 1), 0);
        data.writeUInt32BE(BLOCK, 8);
        return { status: ScsiStatus.Good, dataIn: [data] };
      }
      case 0xa0: {
        const data = Buffer.alloc(16);
        data.writeUInt32BE(8, 0);
        return { status: ScsiStatus.Good, dataIn: [data] };
      }
      case 0x28:
      case 0x88: {
        const lba = cdb[0] === 0x88 ? Number(cdb.readBigUInt64BE(2)) : cdb.readUInt32BE(2);
        const blocks = cdb[0] === 0x88 ? cdb.readUInt32BE(10) : cdb.readUInt16BE(7);
        const start = lba * BLOCK;
        // Returned in two chunks so Data-In splitting over chunk edges is exercised.
        const half = Math.floor(blocks / 2) * BLOCK;
        return {
          status: ScsiStatus.Good,
          dataIn: [this.disk.subarray(start, start + half), this.disk.subarray(start + half, start + blocks * BLOCK)],
        };
      }
      case 0x2a:
      case 0x8a: {
        const lba = cdb[0] === 0x8a ? Number(cdb.readBigUInt64BE(2)) : cdb.readUInt32BE(2);
        const blocks = cdb[0] === 0x8a ? cdb.readUInt32BE(10) : cdb.readUInt16BE(7);
        let offset = lba * BLOCK;
        for (const chunk of command.dataOut) {
          chunk.copy(this.disk, offset);
          offset += chunk.length;
        }
        return { status: ScsiStatus.Good, transferLength: blocks * BLOCK };
      }
      default: {
        const sense = Buffer.alloc(18);
        sense[0] = 0x70;
        sense[2] = 0x05;
        sense[7] = 10;
        sense[12] = 0x20;
        return { status: ScsiStatus.CheckCondition, sense };
      }
    }
  }

  reset(kind: 'lun' | 'target-warm' | 'target-cold', lun: number | undefined): void {
    this.resets.push(`${kind}:${lun ?? '-'}`);
  }
  nexusAdded(nexus: ItNexus): void {
    this.nexuses.add(nexus.id);
  }
  nexusRemoved(nexus: ItNexus): void {
    this.nexuses.delete(nexus.id);
  }
}

export interface FakeCatalogOptions {
  readonly targets?: number;
  readonly chap?: ChapCredentials;
  readonly discoveryChap?: ChapCredentials;
  readonly allowedInitiators?: readonly string[];
  readonly portals?: PortalAddress[];
}

export function iqnOf(i: number): string {
  return `iqn.2026-11.org.iscsi-sim:test${i}`;
}

export function fakeCatalog(device: FakeDevice, options: FakeCatalogOptions = {}): TargetCatalog & { portals: PortalAddress[] } {
  const portals = options.portals ?? [];
  const entries: TargetEntry[] = [];
  for (let i = 0; i < (options.targets ?? 1); i++) {
    entries.push({
      iqn: iqnOf(i),
      alias: `alias${i}`,
      portalGroupTags: [1],
      allowedInitiators: options.allowedInitiators ?? [],
      device,
      ...(options.chap ? { chap: options.chap } : {}),
    });
  }
  return {
    portals,
    targets: () => entries,
    target: (name) => entries.find((e) => e.iqn === name),
    portalsOfGroup: (tpgt) => portals.filter((p) => p.portalGroupTag === tpgt),
    ...(options.discoveryChap ? { discoveryChap: options.discoveryChap } : {}),
  };
}
