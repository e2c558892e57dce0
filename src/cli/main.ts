/** The `iscsi-sim` command: global logging flags, then one subcommand per file in ./commands. */
import { Command, CommanderError } from 'commander';
import { configureLogging } from '../util/log.ts';
import { registerCim } from './commands/cim.ts';
import { registerFault } from './commands/fault.ts';
import { registerLab } from './commands/lab.ts';
import { registerLink } from './commands/link.ts';
import { registerPair } from './commands/pair.ts';
import { registerScenario } from './commands/scenario.ts';
import { registerServe } from './commands/serve.ts';
import { registerSessions } from './commands/sessions.ts';
import { registerSite } from './commands/site.ts';
import { registerStatus } from './commands/status.ts';
import { registerVerify } from './commands/verify.ts';
import { exitQuietlyWhenStdoutCloses } from './lifecycle.ts';
import { packageVersion } from './version.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function buildProgram(): Command {
  const program = new Command('iscsi-sim')
    .description('iSCSI target simulator with SMI-S (CIM-XML) management and BullMQ/Redis remote replication')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--log-json', 'log JSON lines instead of human-readable text')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`)
    .showHelpAfterError()
    .hook('preAction', (command) => {
      const options = command.opts<{ logJson?: boolean; logLevel?: string }>();
      if (options.logLevel !== undefined && !LOG_LEVELS.includes(options.logLevel)) {
        command.error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      }
      configureLogging({ ...(options.logJson ? { json: true } : {}), ...(options.logLevel === undefined ? {} : { level: options.logLevel }) });
    });

  // One line per subcommand; each file exports register<Name>(program).
  registerServe(program);
  registerCim(program);
  registerLab(program);
  registerStatus(program);
  registerSessions(program);
  registerSite(program);
  registerFault(program);
  registerVerify(program);
  registerPair(program);
  registerLink(program);
  registerScenario(program);

  return program;
}

/** Called by bin/iscsi-sim.js; importing this module has no side effects. */
export async function main(argv: readonly string[]): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (!(error instanceof CommanderError)) {
      process.stderr.write(`iscsi-sim: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    }
  }
}
