/**
 * `iscsi-sim lab`: the paired-simulator lab (embedded Redis, primary + peer `serve` processes, a
 * mirror made through CIM).
 */
import type { Command } from 'commander';
import { connectHints, liveStatus, startLab } from '../../lab/lab-runner.ts';
import { logger } from '../../util/log.ts';
import { exitSoon, fail, stopOnSignals } from '../lifecycle.ts';

interface LabFlags {
  stateDir: string;
  basePort?: string;
  redis?: string;
  redisCluster?: string;
  redisReplicas?: string;
  redisNodeTimeout?: string;
  luns?: string;
  size?: string;
  sync?: boolean;
  exitWhenReady?: boolean;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535 - 7) fail(`--base-port must be an integer from 1 to ${65535 - 7}`, 2);
  return port;
}

function count(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) fail(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`, 2);
  return value;
}

function clusterFlags(flags: LabFlags): { masters: number; replicasPerMaster: number; nodeTimeoutMs?: number } | undefined {
  const masters = count('--redis-cluster', flags.redisCluster, 3, 16);
  if (masters === undefined) {
    if (flags.redisReplicas !== undefined || flags.redisNodeTimeout !== undefined) fail('--redis-replicas and --redis-node-timeout go with --redis-cluster N', 2);
    return undefined;
  }
  if (flags.redis !== undefined) fail('give either --redis or --redis-cluster, not both', 2);
  const nodeTimeoutMs = count('--redis-node-timeout', flags.redisNodeTimeout, 500, 60_000);
  return { masters, replicasPerMaster: count('--redis-replicas', flags.redisReplicas, 0, 3) ?? 0, ...(nodeTimeoutMs === undefined ? {} : { nodeTimeoutMs }) };
}

async function lab(flags: LabFlags): Promise<void> {
  const redisCluster = clusterFlags(flags);
  const luns = count('--luns', flags.luns, 1, 256);
  const tty = process.stdout.isTTY === true;
  let lastRewrite = 0;
  let midLine = false;
  const print = (text: string) => {
    process.stdout.write(`${tty && midLine ? '\r\x1b[2K' : ''}${text}\n`);
    midLine = false;
  };
  const rewrite = (text: string) => {
    if (tty) { process.stdout.write(`\r\x1b[2K${text}`); midLine = true; return; }
    // Not a terminal (CI, pipes): a plain line at most every 5 s.
    if (Date.now() - lastRewrite >= 5000) { lastRewrite = Date.now(); print(text); }
  };
  const log = logger.child({ component: 'lab' });
  let handle;
  try {
    handle = await startLab({
      stateDir: flags.stateDir,
      ...(flags.basePort === undefined ? {} : { basePort: parsePort(flags.basePort) }),
      ...(flags.redis === undefined ? {} : { redisUrl: flags.redis }),
      ...(redisCluster === undefined ? {} : { redisCluster }),
      ...(luns === undefined ? {} : { luns }),
      ...(flags.size === undefined ? {} : { lunSize: flags.size }),
      mode: flags.sync ? 'sync' : 'async',
      print,
      rewrite,
      onPartEvent: (event) => {
        // Its own line (kept in the scroll-back) and the log; the live line shows the part's state.
        print(`lab: ${event.message}`);
        if (event.kind === 'restarted') log.info({ part: event.part }, event.message);
        else log.error({ part: event.part }, event.message);
      },
    });
  } catch (err) {
    fail(`lab failed to start: ${(err as Error).message}`);
  }
  print(connectHints(handle.ready));
  print(`lab ready: ${JSON.stringify(handle.ready)}`);
  if (flags.exitWhenReady) {
    await handle.stop();
    exitSoon(0);
    return;
  }
  let stopping = false;
  void liveStatus(handle.ready, handle.parts, rewrite, () => stopping);
  const stoppedCleanly = await stopOnSignals(async () => {
    stopping = true;
    if (tty) print('');
    await handle.stop();
  }, 'the lab');
  exitSoon(stoppedCleanly ? 0 : 1);
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description('run the replication lab: embedded Redis, a primary and a peer system, a mirror created through CIM; Ctrl-C stops it')
    .option('--state-dir <dir>', 'where the lab keeps configs, LUN files, Redis data and logs', 'state/lab')
    .option('--base-port <n>', 'derive every port from N: iSCSI N/N+1, CIM-XML over HTTPS N+2/N+3, Redis N+4, metrics and dashboards N+5/N+6, the lab\'s dashboard N+7 (default: 3260/3261, 5989/5990, 6390, 9464/9465, 9466)')
    .option('--redis <url>', 'use this Redis instead of starting an embedded one (a Redis Cluster: redis+cluster://host:port,host:port)')
    .option('--redis-cluster <masters>', 'start an embedded Redis Cluster of N masters (3 or more) instead of one redis-server, on ports from 7000 (or base port + 8)')
    .option('--redis-replicas <n>', 'with --redis-cluster: replicas per master (default 0); a killed master fails over to its replica')
    .option('--redis-node-timeout <ms>', 'with --redis-cluster: cluster-node-timeout, how long a master may be silent before its replica takes over (default 5000)')
    .option('--luns <n>', 'LUNs per system, one mirror each (default 1)')
    .option('--size <size>', 'LUN size for both systems (default from fixtures/lab-*.yaml); a reused state dir keeps its LUNs\' size and refuses a different one')
    .option('--sync', 'synchronous mirror (protocol C) instead of asynchronous; on a reused state dir the mirror is switched to the mode asked for (ModifyReplicaSynchronization Reset To Sync/Async)')
    .option('--exit-when-ready', 'stop everything right after printing the ready line (scripts)')
    .action((flags: LabFlags) => lab(flags));
}
