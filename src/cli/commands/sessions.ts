/**
 * `iscsi-sim sessions [--json]`: the initiators logged in to each target of running systems, read
 * from each system's HTTP server (/api/sessions). Next to a lab it asks every lab system (or
 * --system) from --state-dir's lab.json, like `status`; else --config's `metrics:` or --url.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatHostPort } from '../../config/portal-address.ts';
import { DEFAULTS } from '../../config/defaults.ts';
import { loadConfigFile } from '../../config/load.ts';
import { DEFAULT_LAB_STATE_DIR, labSystemsFrom } from '../lab-endpoint.ts';
import { exitSoon, fail } from '../lifecycle.ts';
import { httpBaseOf, readSessions, sessionsLines, type SessionsSource } from '../system-sessions.ts';

interface SessionsFlags {
  json?: boolean;
  url?: string;
  config?: string;
  system?: string;
  stateDir: string;
}

export const DEFAULT_HTTP_URL = `http://127.0.0.1:${DEFAULTS.metricsPort}`;

async function sourcesFrom(flags: SessionsFlags): Promise<SessionsSource[]> {
  if (flags.url !== undefined) return [{ name: flags.url, url: flags.url.replace(/\/+$/, '') }];
  if (flags.config !== undefined) {
    const config = await loadConfigFile(flags.config);
    if (config.metrics === undefined) fail(`${flags.config} has no metrics: section, so ${config.name} serves no sessions listing`, 2);
    return [{ name: config.name, url: `http://${formatHostPort(config.metrics.address, config.metrics.port)}` }];
  }
  const lab = await labSystemsFrom(flags.stateDir);
  if (lab === undefined) {
    if (flags.system !== undefined) fail(`--system ${flags.system}: no lab in ${flags.stateDir} (${join(flags.stateDir, 'lab.json')} not found); give --url`, 2);
    return [{ name: DEFAULT_HTTP_URL, url: DEFAULT_HTTP_URL }];
  }
  const chosen = flags.system === undefined ? lab : lab.filter((s) => s.name === flags.system);
  if (chosen.length === 0) fail(`the lab in ${flags.stateDir} has no system ${flags.system ?? ''} (it has ${lab.map((s) => s.name).join(', ')})`, 2);
  return chosen.map((s) => (s.metricsUrl === undefined ? { name: s.name, url: '' } : { name: s.name, url: httpBaseOf(s.metricsUrl) }));
}

async function sessions(flags: SessionsFlags): Promise<void> {
  const sources = await sourcesFrom(flags);
  const results = await readSessions(sources.filter((s) => s.url !== ''));
  const withoutHttp = sources.filter((s) => s.url === '').map((s) => ({ name: s.name, url: 'no HTTP server', error: 'the lab names no metrics URL for it' }));
  const all = [...results, ...withoutHttp];
  if (flags.json) process.stdout.write(`${JSON.stringify({ systems: all }, null, 2)}\n`);
  else process.stdout.write(`${sessionsLines(all).join('\n')}\n`);
  exitSoon(all.some((s) => s.error !== undefined) ? 1 : 0);
}

export function registerSessions(program: Command): void {
  program
    .command('sessions')
    .description('list the initiators logged in to each target (initiator, address, ISID, TSIH, digests), from each system\'s HTTP server')
    .option('--json', 'machine-readable output')
    .option('--url <url>', `a system's HTTP server (its metrics: address; default ${DEFAULT_HTTP_URL} when no lab is found)`)
    .option('--config <file>', 'ask the system of this config (its metrics: section)')
    .option('--system <name>', 'only this lab system (default: every system of the lab)')
    .option('--state-dir <dir>', 'lab state dir whose lab.json names the systems', DEFAULT_LAB_STATE_DIR)
    .action((flags: SessionsFlags) => sessions(flags));
}
