/** `iscsi-sim serve` as a process: ready line, clean SIGTERM shutdown, one-line errors with exit codes. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, startSystem } from '../../integration/support/system-process.ts';

function serve(args: readonly string[], cwd: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, 'serve', ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

t.test('quick form: ready line, sparse LUN files, clean shutdown', async (t) => {
  const system = await startSystem({ luns: ['64M', '10T'] });
  t.equal(system.summary.portals[0].address, '127.0.0.1');
  t.ok(system.summary.portals[0].port > 0, 'port 0 resolved to the bound port');
  t.same(system.summary.targets[0].luns.map((l) => l.lun), [0, 1]);
  const big = statSync(join(system.dir, 'lun1.img'));
  t.equal(big.size, 10 * 1024 ** 4, '10 TiB file');
  t.ok(big.blocks * 512 < 1024 * 1024, 'takes ~0 bytes on disk');
  const dir = system.dir;
  t.equal(await system.stop(), 0, 'SIGTERM exits 0');
  t.notOk(existsSync(dir));
});

t.test('bad config: one line naming the field, exit code 2', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'bad.yaml'), 'name: x\nportals: ["127.0.0.1:0"]\ntargets:\n  - iqn: iqn.2026-11.org.example:x\n    luns:\n      - size: 12Q\n');
  const bad = serve(['--config', 'bad.yaml'], dir);
  t.equal(bad.status, 2);
  t.equal(bad.stderr.trim(), 'iscsi-sim: config error: targets[0].luns[0].size: "12Q" is not a size (use 512, 64K, 1G, 10T)');
  // Issue 12: the quick form checks the size like the config file form (no file named `q2.img:12Q`).
  const quick = serve(['--listen', '127.0.0.1:0', '--lun', 'q2.img:12Q', '--state-dir', 'st'], dir);
  t.equal(quick.status, 2);
  t.equal(quick.stderr.trim(), 'iscsi-sim: config error: --lun #1: "12Q" is not a size (use 512, 64K, 1G, 10T)');
  t.notOk(existsSync(join(dir, 'q2.img:12Q')), 'no file named after the bad spec');
  const none = serve([], dir);
  t.equal(none.status, 2);
  t.match(none.stderr, /give --config FILE, or --listen HOST:PORT/);
});

const NAMED = ['--listen', '127.0.0.1:0', '--name', 'it', '--iqn', 'iqn.2026-11.org.iscsi-sim:it'];

// Issue 12: a missing LUN folder was created silently; `--state-dir /proc/uxstate` hung with no output.
t.test('a missing LUN folder or an unusable state dir: one line naming it, exit code 1, within seconds', async (t) => {
  const dir = t.testdir();
  const missing = serve([...NAMED, '--lun', join(dir, 'nonexistent', 'dir', 'x.img:1M'), '--state-dir', 'st'], dir);
  t.equal(missing.status, 1);
  t.equal(missing.stderr.trim(), `iscsi-sim: cannot start system it: LUN 0 of iqn.2026-11.org.iscsi-sim:it (${join(dir, 'nonexistent', 'dir', 'x.img')}): folder ${join(dir, 'nonexistent')} does not exist (create it, or set createParents: true on the LUN; quick form: --mkdir)`);
  t.notOk(existsSync(join(dir, 'nonexistent')), 'no folder created');
  if (existsSync('/proc/self')) {
    const started = Date.now();
    const proc = serve([...NAMED, '--lun', 'x.img:1M', '--state-dir', '/proc/uxstate'], dir);
    t.equal(proc.status, 1, 'exits instead of hanging (spawnSync would time out at 60 s)');
    t.equal(proc.stderr.trim(), `iscsi-sim: cannot start system it: cannot create folder /proc/uxstate: /proc exists but does not accept new folders`);
    t.ok(Date.now() - started < 30_000, `bounded: ${Date.now() - started} ms`);
  }
});

t.test('a portal already in use: one line, exit code 1', async (t) => {
  const system = await startSystem({ luns: ['1M'] });
  t.teardown(() => system.stop());
  const dir = t.testdir();
  const clash = serve(['--listen', system.portal(), '--lun', 'x.img:1M', '--state-dir', 'st'], dir);
  t.equal(clash.status, 1);
  t.match(clash.stderr.trim(), /^iscsi-sim: cannot start system \S+: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/);
});
