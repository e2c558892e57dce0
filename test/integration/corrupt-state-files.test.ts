/**
 * Issue 8, point 7 (second half): a state file that exists but cannot be parsed stops start-up with a
 * message naming it, within seconds (a missing file is a fresh start). Real `iscsi-sim serve` processes.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './support/system-process.ts';

const EXIT_BOUND_MS = 15_000;

interface Exit { code: number | null; output: string; ms: number }

/** Runs `serve --config` and waits (bounded) for it to exit on its own. */
async function serveUntilExit(dir: string, config: Record<string, unknown>): Promise<Exit> {
  const configPath = join(dir, 'system.json');
  await writeFile(configPath, JSON.stringify(config));
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath, 'serve', '--config', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), EXIT_BOUND_MS);
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  clearTimeout(killer);
  return { code, output, ms: Date.now() - started };
}

function baseConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'corrupt',
    stateDir: join(dir, 'state'),
    portals: ['127.0.0.1:0'],
    targets: [{ iqn: 'iqn.2026-11.org.iscsi-sim:corrupt', luns: [{ lun: 0, file: join(dir, 'lun0.img'), size: '16M' }] }],
    ...extra,
  };
}

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iscsi-sim-corrupt-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function expectNamedFailure(t: Test, exit: Exit, file: string): void {
  t.not(exit.code, 0, `exits non-zero (${exit.code})`);
  t.not(exit.code, null, 'exits by itself, not killed at the bound');
  t.ok(exit.ms < EXIT_BOUND_MS, `within seconds (${exit.ms} ms)`);
  t.match(exit.output, file, `the message names ${file}`);
  t.notMatch(exit.output, /iscsi-sim ready:/, 'never reported ready');
}

t.test('a corrupt replication/pairs.json stops start-up naming it', async (t) => {
  const dir = await scratch();
  const file = join(dir, 'state', 'replication', 'pairs.json');
  await mkdir(join(dir, 'state', 'replication'), { recursive: true });
  await writeFile(file, '{"m-1": {"record": ');
  // Nothing listens on port 1: replication must fail on the file before it ever needs Redis.
  expectNamedFailure(t, await serveUntilExit(dir, baseConfig(dir, { redisUrl: 'redis://127.0.0.1:1' })), file);
});

t.test('a corrupt persistent-reservation (APTPL) file stops start-up naming it', async (t) => {
  const dir = await scratch();
  const file = join(dir, 'lun0.img.pr.json');
  await writeFile(file, 'not json at all');
  expectNamedFailure(t, await serveUntilExit(dir, baseConfig(dir)), file);
});

t.test('a corrupt cim-state.json stops start-up naming it', async (t) => {
  const dir = await scratch();
  const file = join(dir, 'state', 'cim-state.json');
  await mkdir(join(dir, 'state'), { recursive: true });
  await writeFile(file, '{"version": 1, "jobs": [');
  expectNamedFailure(t, await serveUntilExit(dir, baseConfig(dir, { cim: { address: '127.0.0.1', port: 0 } })), file);
});
