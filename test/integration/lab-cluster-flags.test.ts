/**
 * Issue 13: `iscsi-sim lab` refuses bad Redis Cluster flags (and their combinations) before it starts
 * anything: exit status 2, a message naming the flag, within seconds, no state dir made, nothing
 * printed on stdout. The layout checks behind them have unit tests; this runs the real CLI.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../unit/replication/helpers.ts';
import { runCli, type CliRun } from './support/run-cli.ts';

/** Generous for a loaded machine (a refusal takes ≈ 1 s on a quiet one, 5 s at load average 8). */
const BOUND_MS = 30_000;

function lab(stateDir: string, args: readonly string[]): Promise<CliRun> {
  return runCli(['lab', '--state-dir', stateDir, ...args], BOUND_MS);
}

const cases: ReadonlyArray<{ args: readonly string[]; message: RegExp }> = [
  { args: ['--redis-cluster', '2'], message: /--redis-cluster must be a whole number from 3 to 16, got "2"/ },
  { args: ['--redis-cluster', '17'], message: /--redis-cluster must be a whole number from 3 to 16, got "17"/ },
  { args: ['--redis-cluster', 'three'], message: /--redis-cluster must be a whole number from 3 to 16, got "three"/ },
  { args: ['--redis-cluster', '3.5'], message: /--redis-cluster must be a whole number from 3 to 16, got "3\.5"/ },
  { args: ['--redis-replicas', '1'], message: /--redis-replicas and --redis-node-timeout go with --redis-cluster N/ },
  { args: ['--redis-node-timeout', '2000'], message: /--redis-replicas and --redis-node-timeout go with --redis-cluster N/ },
  { args: ['--redis-cluster', '3', '--redis-replicas', '4'], message: /--redis-replicas must be a whole number from 0 to 3, got "4"/ },
  { args: ['--redis-cluster', '3', '--redis-replicas=-1'], message: /--redis-replicas must be a whole number from 0 to 3, got "-1"/ },
  { args: ['--redis-cluster', '3', '--redis-node-timeout=-5'], message: /--redis-node-timeout must be a whole number from 500 to 60000, got "-5"/ },
  { args: ['--redis-cluster', '3', '--redis-node-timeout', 'soon'], message: /--redis-node-timeout must be a whole number from 500 to 60000, got "soon"/ },
  { args: ['--redis-cluster', '3', '--redis-node-timeout', '100'], message: /--redis-node-timeout must be a whole number from 500 to 60000, got "100"/ },
  { args: ['--redis-cluster', '3', '--redis', 'redis://127.0.0.1:6379'], message: /give either --redis or --redis-cluster, not both/ },
];

t.test('bad cluster flags: exit 2 naming the flag, within seconds, nothing started', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-cluster-flags-');
  // Three at a time: each run loads the CLI through tsx (seconds on a loaded machine).
  const pending = cases.map((c, i) => ({ ...c, stateDir: join(dir, `lab-${i}`) }));
  const results: Array<{ args: readonly string[]; message: RegExp; stateDir: string; run: CliRun }> = [];
  while (pending.length > 0) {
    const batch = pending.splice(0, 3);
    results.push(...await Promise.all(batch.map(async (c) => ({ ...c, run: await lab(c.stateDir, c.args) }))));
  }
  for (const { args, message, stateDir, run } of results) {
    const name = args.join(' ');
    t.equal(run.code, 2, `${name}: exit status 2`, { stderr: run.stderr });
    t.match(run.stderr, message, `${name}: the message names the flag`);
    t.ok(run.ms < BOUND_MS, `${name}: refused after ${run.ms} ms`);
    t.equal(run.stdout, '', `${name}: nothing printed on stdout (no part started)`);
    t.notOk(existsSync(stateDir), `${name}: no state dir made`);
  }
});
