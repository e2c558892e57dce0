/**
 * One logger for the process (pino). Human-readable by default, JSON lines with `--log-json` or
 * ISCSI_SIM_LOG_FORMAT=json; level from ISCSI_SIM_LOG_LEVEL (default info). Layers take a child:
 * `const log = logger.child({ component: 'iscsi' })`.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

function build(json: boolean, level: string): Logger {
  if (json) return pino({ level, base: { pid: process.pid } });
  return pino({
    level,
    base: undefined,
    transport: { target: 'pino-pretty', options: { colorize: process.stderr.isTTY, destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
  });
}

const envLevel = process.env.ISCSI_SIM_LOG_LEVEL ?? 'info';

export let logger: Logger = build(process.env.ISCSI_SIM_LOG_FORMAT === 'json', envLevel);

/** Called once by the CLI after parsing flags. */
export function configureLogging(options: { json?: boolean; level?: string }): void {
  logger = build(options.json ?? process.env.ISCSI_SIM_LOG_FORMAT === 'json', options.level ?? envLevel);
}
