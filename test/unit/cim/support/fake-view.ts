/** A SystemView over plain data, for CIM unit tests (no fabric, no disks). */
import type { ObservableBackstore } from '../../../../src/storage/backstore.ts';
import type { LunView, PeerView, PortalView, SystemView, TargetView } from '../../../../src/system/view.ts';

export interface FakeSystemOptions {
  readonly name: string;
  readonly stateDir?: string;
  readonly portals?: readonly PortalView[];
  readonly iqn?: string;
  readonly peers?: readonly PeerView[];
}

export function fakeView(opts: FakeSystemOptions): SystemView {
  const iqn = opts.iqn ?? `iqn.2026-01.org.iscsi-sim:${opts.name}.t1`;
  const portals = opts.portals ?? [{ address: '127.0.0.1', port: 3260, portalGroupTag: 1, listening: true }];
  const lun: LunView = {
    targetIqn: iqn, lun: 0, file: '/dev/null', sizeBytes: 64 * 1024 * 1024, blockSize: 512,
    naa: `6001405${Buffer.from(opts.name).toString('hex').padEnd(9, '0').slice(0, 9)}`, serial: `${opts.name}-0`,
    backstore: {} as ObservableBackstore, writeProtected: false,
  };
  const target: TargetView = { iqn, portalGroupTags: [...new Set(portals.map((p) => p.portalGroupTag))], luns: [lun] };
  return {
    name: opts.name, stateDir: opts.stateDir ?? '/nonexistent', portals, targets: [target], peers: opts.peers ?? [], cimUrl: undefined,
    lun: (t, n) => (t === iqn && n === 0 ? lun : undefined),
  };
}
