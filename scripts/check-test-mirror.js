// Fails (exit 1, naming each file and where it belongs) when test/unit stops mirroring src/:
// - test/unit/<layer>/<sub>/x.test.ts needs the folder src/<layer>/<sub>/;
// - a test named after a source file of its layer (x.test.ts or x.<case>.test.ts for x.ts) sits in
//   that file's folder, so src/replication/capture/dirty-map.ts is tested in
//   test/unit/replication/capture/, not in a flat test/unit/replication/.
// Run by scripts/test.sh as the `test-layout` check; `node scripts/check-test-mirror.js [repo-root]`.
// Helper files (helpers/, support/ folders holding no tests) are not checked, only *.test.ts files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Unit-test roots that test code outside src/, and the folder each one mirrors instead. */
const OUTSIDE_SRC = {
  scripts: 'scripts', // the project's scripts (tap-summary.js, this file)
  support: 'test/support', // the test support code itself (wire codec, conformance parser)
  package: '.', // the package as published (runtime imports of the built tree)
};

function filesNamed(dir, matches) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...filesNamed(path, matches));
    else if (matches(name)) found.push(path);
  }
  return found;
}

const isFolder = (path) => existsSync(path) && statSync(path).isDirectory();

/** The folder a unit test file must mirror, relative to the repo root, or null when it cannot. */
export function mirroredFolder(testPath) {
  const folders = testPath.split(/[\\/]/).slice(0, -1);
  if (folders.length === 0) return null;
  const [root, ...rest] = folders;
  const base = Object.hasOwn(OUTSIDE_SRC, root) ? OUTSIDE_SRC[root] : join('src', root);
  return join(base, ...rest);
}

/** Folders (relative to the repo root) under src/<layer> holding <stem>.ts. */
function sourceFoldersOf(repoRoot, layer, stem) {
  const layerRoot = join(repoRoot, 'src', layer);
  if (!isFolder(layerRoot)) return [];
  return filesNamed(layerRoot, (name) => name === `${stem}.ts`)
    .map((file) => relative(repoRoot, file).split(sep).slice(0, -1).join('/'));
}

/**
 * Each unit test file (relative to test/unit) that breaks the mirror, with the reason: its folder
 * has no twin, or it is named after a source file that lives in another folder of its layer.
 */
export function unmirrored(repoRoot) {
  const unitRoot = join(repoRoot, 'test', 'unit');
  const problems = [];
  for (const file of filesNamed(unitRoot, (name) => name.endsWith('.test.ts'))) {
    const testPath = relative(unitRoot, file).split(sep).join('/');
    const folder = mirroredFolder(testPath);
    if (folder === null) {
      problems.push({ testPath, reason: 'must sit in a folder named after its src/ layer' });
      continue;
    }
    if (!isFolder(join(repoRoot, folder))) {
      problems.push({ testPath, reason: `must mirror ${folder}/, which does not exist` });
      continue;
    }
    const layer = testPath.split('/')[0];
    if (Object.hasOwn(OUTSIDE_SRC, layer)) continue;
    const stem = testPath.split('/').at(-1).split('.')[0];
    const homes = sourceFoldersOf(repoRoot, layer, stem);
    if (homes.length > 0 && !homes.includes(folder.split(sep).join('/'))) {
      const want = homes.map((home) => `test/unit/${home.slice('src/'.length)}/`).join(' or ');
      problems.push({ testPath, reason: `tests ${homes[0]}/${stem}.ts: move it to ${want}` });
    }
  }
  return problems.sort((a, b) => a.testPath.localeCompare(b.testPath));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const repoRoot = process.argv[2] ?? process.cwd();
  const problems = unmirrored(repoRoot);
  for (const { testPath, reason } of problems) console.error(`test/unit/${testPath}: ${reason}`);
  if (problems.length > 0) {
    console.error(`${problems.length} unit test file(s) outside the src/ mirror; move them with git mv`);
    process.exit(1);
  }
  console.log('test/unit mirrors src/');
}
