/**
 * One real `serve`'s dashboard data (no browser): its LUN with the fault rule from the config, a rule
 * added through POST /api/faults showing up as an event, and a logged-in initiator with its address,
 * ISID and digests (what the page renders from GET /api/dashboard).
 */
import t from 'tap';
import type { DashboardSnapshot } from '../../src/metrics/index.ts';
import { TestSession } from '../support/iscsi-wire/session.ts';
import { waitFor } from '../unit/replication/helpers.ts';
import { startSystem } from './support/system-process.ts';

const IQN = 'iqn.2026-11.org.iscsi-sim:dash.disk';
const INITIATOR = 'iqn.2026-11.org.example:dash-host';

t.test("a system's dashboard shows its fault rules, their changes as events, and its sessions", async (t) => {
  const system = await startSystem({
    config: {
      name: 'dash', portals: ['127.0.0.1:0'], metrics: '127.0.0.1:0',
      targets: [{ iqn: IQN, luns: [{ size: '16M', faults: [{ action: 'busy', op: 'write', note: 'from the config' }] }] }],
    },
  });
  t.teardown(() => system.stop());
  const http = system.summary.httpUrl!;
  const snapshot = async () => await (await fetch(`${http}/api/dashboard`)).json() as DashboardSnapshot;

  t.match((await snapshot()).state.systems[0]?.faults, [{ target: IQN, lun: 0, action: 'busy', note: 'from the config' }], 'the rule from the config');
  const added = await fetch(`${http}/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: IQN, lun: 0, action: 'delay', delayMs: 5 }) });
  t.equal(added.status, 201, 'POST /api/faults');
  const { id } = await added.json() as { id: string };
  t.ok(await waitFor(async () => (await snapshot()).events.some((e) => e.kind === 'fault' && e.message.includes(`fault rule ${id} added`)), 20_000, 200), `an event for rule ${id}`);

  const portal = system.summary.portals[0]!;
  const session = await TestSession.login(portal.address, portal.port, { targetName: IQN, initiatorName: INITIATOR, headerDigest: 'CRC32C' });
  t.teardown(() => session.conn.destroy());
  let shown: unknown;
  t.ok(await waitFor(async () => {
    shown = (await snapshot()).state.systems[0]?.sessions;
    return Array.isArray(shown) && shown.length === 1;
  }, 20_000, 200), 'the session is listed');
  t.match(shown, [{ target: IQN, initiatorName: INITIATOR, initiatorAddress: `127.0.0.1:${session.conn.localPort}`, isid: /^[0-9a-f]{12}$/, headerDigest: 'CRC32C', dataDigest: 'None' }]);
  await session.logout();
});
