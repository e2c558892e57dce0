import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localMemberNaas } from '../../../../src/replication/mirror/pair-registry.ts';
import { tempDir } from '../helpers.ts';

t.test('member LUNs from pairs.json: none when missing, its LUNs when readable, every LUN when corrupt', async (t) => {
  const stateDir = await tempDir(t);
  t.notOk(localMemberNaas(stateDir).has('6001405aaaaaaaa1'), 'no file: no pair, nothing fenced');
  await mkdir(join(stateDir, 'replication'), { recursive: true });
  const file = join(stateDir, 'replication', 'pairs.json');
  const lun = (system: string, naa: string) => ({ system, targetIqn: 'iqn.x', lun: 0, naa });
  await writeFile(file, JSON.stringify({ 'm-1': { record: { pairId: 'm-1', source: lun('a', '6001405AAAAAAAA1'), target: lun('b', '6001405bbbbbbbb2') }, admin: 'active', revision: 1 } }));
  const members = localMemberNaas(stateDir);
  t.ok(members.has('6001405aaaaaaaa1') && members.has('6001405bbbbbbbb2'), 'both LUNs of the pair');
  t.notOk(members.has('6001405cccccccc3'), 'not others');
  await writeFile(file, '{"m-1": {"record": ');
  t.ok(localMemberNaas(stateDir).has('6001405cccccccc3'), 'corrupt: which LUNs it named is unknown, so every LUN starts fenced');
});
