/** scripts/check-test-mirror.js: the `test-layout` check that keeps test/unit mirroring src/. */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const script = join(repoRoot, 'scripts', 'check-test-mirror.js');

function check(root: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [script, root], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stderr: result.stderr };
}

/** A repository tree holding empty files at the given paths. */
function tree(t: Test, paths: string[]): string {
  const root = t.testdir();
  for (const path of paths) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), '');
  }
  return root;
}

t.test('this repository mirrors src/', async (t) => {
  const { status, stderr } = check(repoRoot);
  t.equal(stderr, '');
  t.equal(status, 0);
});

t.test('a mirrored tree passes, helper folders and tests of other layers included', async (t) => {
  const root = tree(t, [
    'src/replication/capture/dirty-map.ts', 'src/replication/engine.ts', 'src/lab/lab-config.ts', 'scripts/x.js',
    'test/unit/replication/capture/dirty-map.persist-failure.test.ts', 'test/unit/replication/engine.test.ts',
    'test/unit/replication/helpers.ts', 'test/unit/lab/lab-config.test.ts', 'test/unit/scripts/x.test.ts',
    'test/unit/scsi/helpers/harness.ts', 'src/scsi/sbc/read-write.ts', 'test/unit/scsi/sbc/write10.simple.test.ts',
  ]);
  t.equal(check(root).status, 0);
});

t.test('a flat test of a source file in a subfolder fails, naming where it belongs', async (t) => {
  const root = tree(t, ['src/replication/capture/dirty-map.ts', 'test/unit/replication/dirty-map.test.ts']);
  const { status, stderr } = check(root);
  t.equal(status, 1);
  t.match(stderr, 'test/unit/replication/dirty-map.test.ts: tests src/replication/capture/dirty-map.ts: move it to test/unit/replication/capture/');
});

t.test('a test folder with no src/ twin fails', async (t) => {
  const root = tree(t, ['src/scsi/opcode.ts', 'test/unit/scsi/sbcc/write10.simple.test.ts', 'test/unit/orphan.test.ts']);
  const { status, stderr } = check(root);
  t.equal(status, 1);
  t.match(stderr, 'test/unit/scsi/sbcc/write10.simple.test.ts: must mirror src/scsi/sbcc/, which does not exist');
  t.match(stderr, 'test/unit/orphan.test.ts: must sit in a folder named after its src/ layer');
  t.match(stderr, '2 unit test file(s) outside the src/ mirror');
});
