/**
 * A SystemView over one real sparse file (one target, LUN 0) for tests that drive replication engines
 * in-process, without a `serve` process around them.
 */
import { join } from 'node:path';
import { ReplicationEngine } from '../../../src/replication/engine.ts';
import { RedisTransport } from '../../../src/replication/transport/redis-transport.ts';
import type { ReplicationOptions } from '../../../src/replication/options.ts';
import type { Backstore } from '../../../src/storage/backstore.ts';
import type { LunView, SystemView } from '../../../src/system/view.ts';
import { fileBackstore, type TapLike } from '../../unit/replication/helpers.ts';

export async function systemView(t: TapLike, dir: string, name: string, naa: string, sizeBytes: number): Promise<{ view: SystemView; lun: LunView; backstore: Backstore }> {
  const backstore = await fileBackstore(t, dir, `${name}.img`, sizeBytes);
  const iqn = `iqn.2026-11.org.iscsi-sim:${name}`;
  const lun: LunView = {
    targetIqn: iqn, lun: 0, file: backstore.inner.path, sizeBytes, blockSize: 512, naa, serial: naa, backstore, writeProtected: false,
  };
  const view: SystemView = {
    name, stateDir: join(dir, name), portals: [], peers: [], cimUrl: undefined,
    targets: [{ iqn, portalGroupTags: [1], luns: [lun] }],
    lun: (targetIqn, number) => (targetIqn === iqn && number === 0 ? lun : undefined),
  };
  return { view, lun, backstore };
}

/**
 * Starts one in-process ReplicationEngine per view on `redisUrl` (closed at teardown, in reverse order)
 * with the fast probe/reconcile intervals these tests use.
 */
export async function startEngines(
  t: TapLike, redisUrl: string, views: readonly SystemView[], options: Partial<ReplicationOptions>,
): Promise<ReplicationEngine[]> {
  const engines = views.map((view) => new ReplicationEngine({ view, transport: new RedisTransport(redisUrl), options, reconcileMs: 200 }));
  for (const engine of engines) t.teardown(() => engine.close());
  for (const engine of engines) await engine.start();
  return engines;
}
