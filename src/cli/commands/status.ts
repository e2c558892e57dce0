/** `iscsi-sim status [--json]`: mirror pairs, their state and lag, read from the shared Redis. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { loadConfigFile } from '../../config/load.ts';
import { statusTable } from '../../lab/status-format.ts';
import { readPairReports } from '../../replication/status-reader.ts';
import { exitSoon, fail } from '../lifecycle.ts';

interface StatusFlags {
  json?: boolean;
  redis?: string;
  config?: string;
  stateDir: string;
}

async function redisUrlFrom(flags: StatusFlags): Promise<string> {
  if (flags.redis) return flags.redis;
  if (flags.config) {
    const config = await loadConfigFile(flags.config);
    if (!config.redisUrl) fail(`${flags.config} has no redisUrl`, 2);
    return config.redisUrl;
  }
  if (process.env.ISCSI_SIM_REDIS_URL) return process.env.ISCSI_SIM_REDIS_URL;
  try {
    const lab = JSON.parse(await readFile(join(flags.stateDir, 'lab.json'), 'utf8')) as { redisUrl?: string };
    if (lab.redisUrl) return lab.redisUrl;
  } catch {
    // fall through
  }
  fail(`no Redis to ask: give --redis URL or --config FILE, or run it next to a lab (${join(flags.stateDir, 'lab.json')} not found)`, 2);
}

async function status(flags: StatusFlags): Promise<void> {
  const url = await redisUrlFrom(flags);
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    const reports = await readPairReports(redis);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ redis: url, pairs: reports.map((r) => ({ ...r.entry, status: r.status ?? null })) }, null, 2)}\n`);
    } else {
      process.stdout.write(`${statusTable(reports)}\n`);
    }
  } catch (err) {
    fail(`cannot read status from ${url}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  exitSoon(0);
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show mirror pairs: state, epochs/bytes behind, RPO, throughput (from the shared Redis)')
    .option('--json', 'machine-readable output')
    .option('--redis <url>', 'Redis the systems share')
    .option('--config <file>', 'take redisUrl from a system config')
    .option('--state-dir <dir>', 'lab state dir to find the lab\'s Redis in', 'state/lab')
    .action((flags: StatusFlags) => status(flags));
}
