import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateFile, readStateFileSync, StateFileError } from '../../../src/util/state-file.ts';

t.test('missing is nothing saved, parsable is returned, anything else names the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-state-file-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  t.equal(await readStateFile(file), undefined);
  t.equal(readStateFileSync(file), undefined);
  await writeFile(file, '{"a": 1}');
  t.same(await readStateFile(file), { a: 1 });
  t.same(readStateFileSync(file), { a: 1 });
  for (const body of ['{"a": ', '', '[1, 2]', 'null', '42']) {
    await writeFile(file, body);
    await t.rejects(readStateFile(file), StateFileError, `async: ${JSON.stringify(body)}`);
    t.throws(() => readStateFileSync(file), { name: 'StateFileError', message: new RegExp(file) }, `sync: ${JSON.stringify(body)}`);
  }
  await t.rejects(readStateFile(dir), { message: new RegExp(dir) }, 'a directory where the file should be');
});
