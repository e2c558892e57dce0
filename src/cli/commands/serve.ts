/** `iscsi-sim serve`: one system from a config file or from the quick-form flags. */
import type { Command } from 'commander';
import { AssemblyError, startSystem, type RunningSystem } from '../../app/assemble-system.ts';
import { ConfigError } from '../../config/errors.ts';
import { loadConfigFile } from '../../config/load.ts';
import type { SystemConfig } from '../../config/types.ts';
import { readyLine, readySummaryText } from '../../system/ready-line.ts';
import { logger } from '../../util/log.ts';
import { countersLine } from '../counters-line.ts';
import { exitSoon, fail, stopOnSignals } from '../lifecycle.ts';
import { quickConfig } from '../quick-config.ts';

interface ServeOptions {
  config?: string;
  listen?: string;
  lun: string[];
  iqn?: string;
  name?: string;
  stateDir?: string;
  cim?: string | boolean;
  cimHttps?: boolean;
  mkdir?: boolean;
  metrics?: string | boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function configFrom(options: ServeOptions): Promise<SystemConfig> {
  if (options.config !== undefined) {
    if (options.listen !== undefined || options.lun.length > 0 || options.iqn !== undefined) {
      throw new ConfigError('', '--config cannot be combined with --listen/--lun/--iqn');
    }
    return loadConfigFile(options.config);
  }
  if (options.listen === undefined) throw new ConfigError('', 'give --config FILE, or --listen HOST:PORT with --lun FILE[:SIZE]');
  return quickConfig({
    listen: options.listen,
    luns: options.lun,
    ...(options.iqn === undefined ? {} : { iqn: options.iqn }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
    ...(options.cim === undefined ? {} : { cim: options.cim === true ? '' : String(options.cim) }),
    ...(options.cimHttps === true ? { cimHttps: true } : {}),
    ...(options.mkdir === true ? { createParents: true } : {}),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics === true ? '' : String(options.metrics) }),
  }, process.cwd());
}

export async function serve(options: ServeOptions): Promise<void> {
  let config: SystemConfig;
  try {
    config = await configFrom(options);
  } catch (error) {
    if (error instanceof ConfigError) fail(`config error: ${error.message}`, 2);
    throw error;
  }
  let running: RunningSystem;
  try {
    running = await startSystem(config);
  } catch (error) {
    if (error instanceof AssemblyError) fail(error.message);
    throw error;
  }
  const { system } = running;
  const summary = running.summary();
  logger.child({ component: 'cli' }).info(readySummaryText(summary));
  process.stdout.write(`${readyLine(summary)}\n`);
  const printCounters = (): void => {
    process.stdout.write(`${countersLine({ system: config.name, targets: system.counters() })}\n`);
  };
  process.on('SIGUSR2', printCounters);
  const stoppedCleanly = await stopOnSignals(async () => {
    process.off('SIGUSR2', printCounters);
    try {
      await running.stop();
    } finally {
      printCounters();
    }
  }, `system ${config.name}`);
  exitSoon(stoppedCleanly ? 0 : 1);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run one simulated storage system (portals, targets, LUNs, CIM) until SIGINT/SIGTERM')
    .option('-c, --config <file>', 'system config, YAML or JSON (see README "Configuration")')
    .option('-l, --listen <host:port>', 'quick form: one portal, e.g. 127.0.0.1:3260 or [::1]:3260')
    .option('--lun <file[:size]>', 'quick form: a LUN backed by FILE (created sparse, SIZE like 1G, 10T; default 1G), or memory:SIZE for a LUN in RAM; repeat for LUN 1, 2, ...', collect, [])
    .option('--iqn <iqn>', 'quick form: target name (default iqn.2026-11.org.iscsi-sim:<hostname>)')
    .option('--name <name>', 'quick form: system name (default: the host name)')
    .option('--state-dir <dir>', 'quick form: state folder (default ./state/<name>)')
    .option('--cim [host:port]', 'quick form: also serve CIM-XML (default 127.0.0.1:5988, or 5989 with --cim-https)')
    .option('--cim-https', 'quick form: serve CIM-XML over HTTPS (self-signed certificate made in the state dir); implies --cim')
    .option('--mkdir', 'quick form: create missing folders of the --lun files')
    .option('--metrics [host:port]', 'quick form: also serve /metrics, /healthz and /api/sessions over HTTP (default 127.0.0.1:9464)')
    .action((options: ServeOptions) => serve(options));
}
