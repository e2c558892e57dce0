import t from 'tap';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFolder, missingFolders } from '../../../src/util/directories.ts';

t.test('missingFolders lists the missing levels, outermost first', async (t) => {
  const dir = t.testdir();
  t.same(await missingFolders(dir), []);
  t.same(await missingFolders(join(dir, 'a', 'b')), [join(dir, 'a'), join(dir, 'a', 'b')]);
  writeFileSync(join(dir, 'file'), '');
  await t.rejects(missingFolders(join(dir, 'file', 'x')), /file exists and is not a folder|ENOTDIR/);
});

t.test('ensureFolder creates every missing level', async (t) => {
  const dir = t.testdir();
  await ensureFolder(join(dir, 'a', 'b', 'c'));
  t.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
  await ensureFolder(join(dir, 'a', 'b', 'c'));
  t.ok(existsSync(join(dir, 'a')), 'again: nothing to do');
});

// Issue 12: `stateDir: /proc/uxstate` hung forever (Node's recursive mkdir loops on this ENOENT).
t.test('a parent that refuses new folders is an error naming both, not a hang', { timeout: 10_000, skip: existsSync('/proc/self') ? false : 'no /proc' }, async (t) => {
  await t.rejects(ensureFolder('/proc/uxstate'), { message: 'cannot create folder /proc/uxstate: /proc exists but does not accept new folders' });
  await t.rejects(ensureFolder('/proc/uxstate/deeper'), /^cannot create folder \/proc\/uxstate: /);
});
