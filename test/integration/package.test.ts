/**
 * The npm package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed with
 * --omit=dev into an empty folder (no tsx, no TypeScript, no src/), then its bin run from there:
 * `--version`, `serve` with a real initiator logging in, and `lab --exit-when-ready`.
 * npm reads the dependencies from its cache when it can (`npm ci` filled it).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLabBasePort, tempDir } from '../unit/replication/helpers.ts';
import { repoRoot, startSystem } from './support/system-process.ts';
import { missingTools } from './support/tools.ts';

interface Result { code: number | null; stdout: string; stderr: string }

/** Only npm's own settings that locate the cache and registry survive; `npx tap` sets others (local prefix, …). */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())));
}

function sh(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Result> {
  return new Promise((done) => {
    execFile(command, [...args], { cwd, env: npmEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

t.test('npm pack → npm install --omit=dev → the installed iscsi-sim runs', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-pkg-');

  const pack = await sh('npm', ['pack', '--json', '--pack-destination', dir, '--loglevel=error'], repoRoot, 240_000);
  t.equal(pack.code, 0, 'npm pack', { stderr: pack.stderr.slice(-2000) });
  // prepack's output may precede the JSON on stdout.
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  const files = packed.files.map((f) => f.path);
  t.ok(files.includes('dist/cli/main.js'), 'the tarball has the compiled CLI');
  t.ok(files.includes('fixtures/lab-primary.yaml') && files.includes('fixtures/lab-peer.yaml'), 'and the lab fixtures');
  t.ok(['web/dashboard/index.html', 'web/dashboard/dashboard.js', 'web/dashboard/dashboard.css'].every((f) => files.includes(f)), 'and the dashboard page');
  const stray = files.filter((f) => !/^(dist|bin|fixtures|docs|web)\//.test(f) && !['package.json', 'README.md', 'LICENSE'].includes(f));
  t.same(stray, [], 'nothing but dist, bin, fixtures, docs, web, package.json, README and LICENSE ships');
  t.same(files.filter((f) => f.endsWith('.ts')), [], 'no TypeScript sources or tests ship');
  t.comment(`tarball: ${files.length} files`);

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pkg-test', version: '1.0.0', private: true }));
  const install = await sh('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, packed.filename)], app, 300_000);
  t.equal(install.code, 0, 'npm install --omit=dev of the tarball', { stderr: install.stderr.slice(-2000) });
  t.notOk(existsSync(join(app, 'node_modules', 'tsx')), 'tsx (a devDependency) is not installed');
  t.notOk(existsSync(join(app, 'node_modules', 'typescript')), 'nor typescript');
  t.notOk(existsSync(join(app, 'node_modules', 'iscsi-sim', 'src')), 'nor the sources');
  const bin = join(app, 'node_modules', '.bin', 'iscsi-sim');

  t.test('--version', async (t) => {
    const r = await sh(bin, ['--version'], app, 30_000);
    t.equal(r.code, 0, 'exits 0', { stderr: r.stderr });
    t.equal(r.stdout.trim(), version, 'prints the package version');
  });

  t.test('serve: iscsi-ls logs in and lists the LUN', { skip: missingTools({ 'iscsi-ls': 'libiscsi-bin' }) }, async (t) => {
    const system = await startSystem({ cli: bin, luns: ['16M'] });
    t.teardown(() => system.stop());
    const ls = await sh('iscsi-ls', ['-s', `iscsi://${system.portal()}`], app, 60_000);
    t.equal(ls.code, 0, 'iscsi-ls exits 0', { stderr: ls.stderr });
    t.match(ls.stdout, system.summary.targets[0].iqn, 'the target is listed');
    t.match(ls.stdout, /Lun:0/, 'and its LUN 0 (after a login)');
    t.equal(await system.stop(), 0, 'serve exits 0 on SIGTERM');
  });

  t.test('serve --metrics: the dashboard page and uPlot come from the installed package', async (t) => {
    const system = await startSystem({ cli: bin, luns: ['16M'], extraArgs: ['--metrics', '127.0.0.1:0'] });
    t.teardown(() => system.stop());
    const httpUrl = system.summary.httpUrl!;
    t.ok(httpUrl, 'serve printed its HTTP URL');
    const page = await fetch(`${httpUrl}/dashboard/`);
    t.equal(page.status, 200, 'GET /dashboard/');
    const html = await page.text();
    for (const asset of html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)) {
      const response = await fetch(`${httpUrl}${asset[1]}`);
      t.equal(response.status, 200, `GET ${asset[1]}`);
      t.ok((await response.text()).length > 100, 'not empty');
    }
    t.match(html, 'uPlot.iife.min.js', 'the page loads uPlot');
  });

  t.test('lab --exit-when-ready', { skip: missingTools({ 'redis-server': 'redis-server' }) }, async (t) => {
    const basePort = await freeLabBasePort();
    const r = await sh(bin, ['lab', '--exit-when-ready', '--state-dir', join(dir, 'lab'), '--base-port', String(basePort), '--size', '16M'], app, 180_000);
    t.equal(r.code, 0, 'lab --exit-when-ready exits 0', { stdout: r.stdout.slice(-2000), stderr: r.stderr.slice(-3000) });
    const ready = /^lab ready: (.*)$/m.exec(r.stdout);
    t.ok(ready, 'the lab printed its ready line');
    const parsed = JSON.parse(ready?.[1] ?? '{}') as { systems?: unknown[]; pairs?: unknown[] };
    t.equal(parsed.systems?.length, 2, 'two systems');
    t.equal(parsed.pairs?.length, 1, 'one mirror pair made through CIM');
  });
});
