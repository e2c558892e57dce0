/**
 * `iscsi-sim status [--json]`: mirror pairs, their state and lag, read from the shared Redis; when Redis
 * cannot be read, what each known system has in its state dir and on its /metrics (exit 1). Either
 * way, the sessions logged in to each known system (its /api/sessions), as `iscsi-sim sessions`, and
 * the fault rules set on each (its /api/faults) when there are any.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.ts';
import { labSystems, type LabReady } from '../../lab/lab-runner.ts';
import { localStatusLines, readLocalStatus, type LocalSystem } from '../../lab/local-status.ts';
import { statusTable } from '../../lab/status-format.ts';
import { readPairReports, type PairReport } from '../../replication/status-reader.ts';
import { isDeadlineError, StoreConnection } from '../../replication/transport/store-connection.ts';
import { exitSoon, fail } from '../lifecycle.ts';
import { faultLines, readFaults, type SystemFaults } from '../fault-listing.ts';
import { httpBaseOf, readSessions, SESSIONS_DEADLINE_MS, sessionsLines, type SystemSessions } from '../system-sessions.ts';

interface StatusFlags {
  json?: boolean;
  redis?: string;
  config?: string;
  stateDir: string;
}

interface StatusSources {
  readonly url: string;
  /** Systems whose own state (state dir, /metrics) is shown when Redis cannot be read. */
  readonly systems: readonly LocalSystem[];
}

async function sourcesFrom(flags: StatusFlags): Promise<StatusSources> {
  if (flags.config) {
    const config = await loadConfigFile(flags.config);
    if (!config.redisUrl && !flags.redis) fail(`${flags.config} has no redisUrl`, 2);
    const metricsUrl = config.metrics ? `http://${config.metrics.address.includes(':') ? `[${config.metrics.address}]` : config.metrics.address}:${config.metrics.port}/metrics` : undefined;
    return { url: flags.redis ?? config.redisUrl!, systems: [{ name: config.name, stateDir: config.stateDir, ...(metricsUrl ? { metricsUrl } : {}) }] };
  }
  const lab = await readLabJson(flags.stateDir);
  const url = flags.redis ?? process.env.ISCSI_SIM_REDIS_URL ?? lab?.redisUrl;
  if (!url) fail(`no Redis to ask: give --redis URL or --config FILE, or run it next to a lab (${join(flags.stateDir, 'lab.json')} not found)`, 2);
  return { url, systems: lab ? labSystems(lab) : [] };
}

async function readLabJson(stateDir: string): Promise<LabReady | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'lab.json'), 'utf8')) as LabReady;
  } catch {
    return undefined;
  }
}

const REDIS_DEADLINE_MS = 2000;

class DeadlineError extends Error {}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new DeadlineError()), ms); });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

async function status(flags: StatusFlags): Promise<void> {
  const { url, systems } = await sourcesFrom(flags);
  // A dead Redis (refused) or a hung one (accepts, never answers) is said in seconds: connecting (with
  // the ready check) within the deadline, then each command within it — many pairs on a healthy Redis
  // take what they take, a Redis that stops answering midway is still caught.
  const redis = new StoreConnection(url, { lazy: true, deadlineMs: REDIS_DEADLINE_MS });
  let reports: PairReport[];
  try {
    await withDeadline(redis.connect(), REDIS_DEADLINE_MS);
    reports = await readPairReports(redis.store);
  } catch (err) {
    redis.close();
    const timedOut = err instanceof DeadlineError || isDeadlineError(err);
    const reason = timedOut ? `no answer within ${REDIS_DEADLINE_MS / 1000} s` : redis.lastError ?? (err as Error).message;
    await unreachable(flags, url, reason, systems);
    return;
  }
  redis.close();
  const [sessions, faults] = await Promise.all([systemSessions(systems), systemFaults(systems)]);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ redis: url, pairs: reports.map((r) => ({ ...r.entry, status: r.status ?? null })), ...(sessions ? { sessions } : {}), ...faultsJson(faults) }, null, 2)}\n`);
  } else {
    process.stdout.write(`${[statusTable(reports), ...sessionsSection(sessions), ...faultsSection(faults)].join('\n')}\n`);
  }
  exitSoon(0);
}

/** Sessions of the systems that have an HTTP server; undefined when none has. */
async function systemSessions(systems: readonly LocalSystem[]): Promise<SystemSessions[] | undefined> {
  const sources = systems.flatMap((s) => (s.metricsUrl === undefined ? [] : [{ name: s.name, url: httpBaseOf(s.metricsUrl) }]));
  return sources.length === 0 ? undefined : readSessions(sources);
}

/** Fault rules of the systems that have an HTTP server; undefined when none has. */
async function systemFaults(systems: readonly LocalSystem[]): Promise<SystemFaults[] | undefined> {
  const endpoints = systems.flatMap((s) => (s.metricsUrl === undefined ? [] : [{ name: s.name, url: httpBaseOf(s.metricsUrl) }]));
  return endpoints.length === 0 ? undefined : readFaults(endpoints, SESSIONS_DEADLINE_MS);
}

/** Shown when some system has fault rules (or could not be asked for them). */
function faultsSection(faults: readonly SystemFaults[] | undefined): string[] {
  if (faults === undefined || faults.every((f) => f.error === undefined && (f.rules ?? []).length === 0)) return [];
  return ['', 'fault rules:', ...faultLines(faults).map((line) => `  ${line}`)];
}

function faultsJson(faults: readonly SystemFaults[] | undefined): { faults?: unknown } {
  if (faults === undefined) return {};
  return { faults: faults.map((f) => ({ system: f.system ?? f.endpoint.name, ...(f.rules ? { rules: f.rules } : {}), ...(f.error ? { error: f.error } : {}) })) };
}

function sessionsSection(sessions: readonly SystemSessions[] | undefined): string[] {
  return sessions === undefined ? [] : ['', 'sessions:', ...sessionsLines(sessions).map((line) => `  ${line}`)];
}

/** Redis cannot be read: say so, show what each system knows on its own, exit 1. */
async function unreachable(flags: StatusFlags, url: string, reason: string, systems: readonly LocalSystem[]): Promise<void> {
  const [local, sessions, faults] = await Promise.all([readLocalStatus(systems), systemSessions(systems), systemFaults(systems)]);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ redis: url, redisReachable: false, error: reason, systems: local, ...(sessions ? { sessions } : {}), ...faultsJson(faults) }, null, 2)}\n`);
  } else {
    const lines = [`Redis unreachable (${url}): ${reason}`];
    if (systems.length === 0) lines.push('no local state to show (give --state-dir of a lab or --config of a system)');
    else lines.push('what each system knows locally:', ...localStatusLines(local).map((line) => `  ${line}`));
    lines.push(...sessionsSection(sessions), ...faultsSection(faults));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  exitSoon(1);
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
