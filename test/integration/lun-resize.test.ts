/**
 * Online resize (issue 11, device personalities): POST /api/luns/resize grows a running LUN's file,
 * every logged-in initiator gets CAPACITY DATA HAS CHANGED on its next command, and READ CAPACITY
 * reports the new size; bad requests get 400 naming the field, an unknown LUN 404.
 */
import t from 'tap';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { rawSession } from './support/raw-session.ts';
import { startSystem } from './support/system-process.ts';

const IQN = 'iqn.2026-11.org.iscsi-sim:resize';
const MIB = 1024 * 1024;
const TEST_UNIT_READY = Buffer.alloc(6);

t.test('grow a LUN online: CAPACITY DATA HAS CHANGED to every nexus, READ CAPACITY shows the new size', async (t) => {
  const system = await startSystem({
    config: { name: 'resize', portals: ['127.0.0.1:0'], metrics: '127.0.0.1:0', targets: [{ iqn: IQN, luns: [{ file: 'lun0.img', size: '64M' }] }] },
  });
  t.teardown(() => system.stop());
  const first = await rawSession(system);
  const second = await rawSession(system, { initiatorName: 'iqn.2026-11.org.test:second' });
  t.teardown(async () => {
    await first.logout().catch(() => undefined);
    await second.logout().catch(() => undefined);
  });
  t.same(await first.readCapacity(), { blocks: 64 * MIB / 512, blockSize: 512 });
  const post = async (body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${system.summary.httpUrl}/api/luns/resize`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  const grown = await post({ target: IQN, lun: 0, size: '128M' });
  t.same(grown, { status: 200, json: { target: IQN, lun: 0, sizeBytes: 128 * MIB } });
  t.equal(statSync(join(system.dir, 'state', 'lun0.img')).size, 128 * MIB, 'the file grew');
  for (const [name, session] of [['first', first], ['second', second]] as const) {
    const attention = await session.command(TEST_UNIT_READY);
    t.same([attention.status, attention.sense[2] & 0x0f, attention.sense[12], attention.sense[13]], [2, 6, 0x2a, 0x09], `${name} initiator: UNIT ATTENTION / CAPACITY DATA HAS CHANGED`);
    t.same(await session.readCapacity(), { blocks: 128 * MIB / 512, blockSize: 512 }, `${name} initiator: READ CAPACITY shows 128 MiB`);
  }

  t.match(await post({ target: IQN, lun: 0, size: '64M' }), { status: 400, json: { field: 'size', error: /does not grow the LUN/ } }, 'shrinking refused');
  t.match(await post({ target: IQN, lun: 0, size: 128 * MIB + 1000 }), { status: 400, json: { field: 'size', error: /not a multiple of the block size 512/ } });
  t.match(await post({ target: IQN, lun: 0, size: 'big' }), { status: 400, json: { field: 'size' } });
  t.match(await post({ target: IQN, lun: 7, size: '1G' }), { status: 404 });
  t.equal((await first.command(TEST_UNIT_READY)).status, 0, 'a refused resize raises nothing');
});
