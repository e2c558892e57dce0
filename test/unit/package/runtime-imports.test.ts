/**
 * `npm install --omit=dev` leaves out devDependencies: no module under src/ may import one (nor any
 * package missing from `dependencies`). Covers static and dynamic imports, require() and pino's
 * transport targets (loaded by name in a worker).
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { repoRoot } from '../replication/helpers.ts';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|\b(target):\s*)'([^'.][^']*)'/g;
/** A `target: '...'` is a pino transport only when it names an installed package (fault rules have targets too). */
const isInstalled = (name: string) => existsSync(join(repoRoot, 'node_modules', name, 'package.json'));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

t.test('every package src/ imports is a runtime dependency', async (t) => {
  const offenders: string[] = [];
  let seen = 0;
  for (const file of sources(join(repoRoot, 'src'))) {
    for (const [, target, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      if (target && !isInstalled(packageName(specifier))) continue;
      seen++;
      const name = packageName(specifier);
      if (!(name in pkg.dependencies)) offenders.push(`${relative(repoRoot, file)}: ${specifier}${name in pkg.devDependencies ? ' (a devDependency)' : ''}`);
    }
  }
  t.ok(seen > 10, `found the package imports (${seen})`);
  t.same(offenders, [], 'no import of a package outside `dependencies`');
});
