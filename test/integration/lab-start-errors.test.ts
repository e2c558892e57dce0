/**
 * Issue 12: `lab --redis redis://127.0.0.1:15099` (nothing there) failed after 14 s with ioredis's
 * "Reached the max retries per request limit" without naming the URL; a lab port already in use
 * showed only "primary exited (1)". Both now say what is wrong, within seconds.
 */
import t from 'tap';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freeLabBasePort, tempDir } from '../unit/replication/helpers.ts';
import { runCli, type CliRun } from './support/run-cli.ts';

function runLab(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  return runCli(['lab', '--size', '16M', '--exit-when-ready', ...args], timeoutMs);
}

async function listen(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return server;
}

t.test('a --redis URL with nothing there is named within seconds', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-lab-err-');
  const basePort = await freeLabBasePort();
  const closed = basePort + 4; // free (checked by freeLabBasePort) and not listened on
  const run = await runLab(['--state-dir', join(dir, 'lab'), '--base-port', String(basePort), '--redis', `redis://127.0.0.1:${closed}`], 60_000);
  t.equal(run.code, 1, 'exit status 1', { stderr: run.stderr });
  t.match(run.stderr, new RegExp(`Redis at redis://127\\.0\\.0\\.1:${closed} does not answer: connect ECONNREFUSED`), 'the message names the URL and the reason');
  t.notMatch(run.stdout + run.stderr, /starting primary system/, 'no system is started without its Redis');
  t.ok(run.ms < 20_000, `failed after ${run.ms} ms (was 14 s + start-up, without the URL)`);
});

t.test('a lab port already in use: the lab prints the address the primary could not bind', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-lab-err-');
  const basePort = await freeLabBasePort();
  const blocker = await listen(basePort); // the primary's iSCSI portal
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const run = await runLab(['--state-dir', join(dir, 'lab'), '--base-port', String(basePort)], 120_000);
  t.not(run.code, 0, 'the lab fails', { stderr: run.stderr });
  t.match(run.stderr, new RegExp(`primary exited \\(1\\) before it was ready: cannot start system primary: cannot listen on 127\\.0\\.0\\.1:${basePort}: EADDRINUSE`), 'the child\'s error line, with the address in use');
});
