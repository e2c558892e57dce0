/**
 * `iscsi-sim fault add ACTION [match flags] [action flags]`, `fault list`, `fault clear [ID]`: fault
 * rules of a running system over its HTTP API (/api/faults). Next to a lab they go to the primary
 * (or `--system NAME`); elsewhere to `--http URL` (the system's `metrics:` address). Changes carry
 * `--token` (or ISCSI_SIM_TOKEN) when the system has a metrics.token.
 */
import type { Command } from 'commander';
import { FAULT_ACTIONS } from '../../scsi/faults/fault-rule.ts';
import { faultLines, faultRuleLine, readFaults, type FaultRuleView } from '../fault-listing.ts';
import { DEFAULT_LAB_STATE_DIR, labSystemsFrom } from '../lab-endpoint.ts';
import { exitSoon, fail } from '../lifecycle.ts';
import { requestJson, SystemHttpError, type SystemEndpoint } from '../system-http.ts';
import { httpBaseOf } from '../system-sessions.ts';

interface TargetFlags {
  system?: string;
  http?: string;
  stateDir: string;
  token?: string;
  json?: boolean;
}

/** Flag → rule field; the flags `fault add` passes on as they were typed (the system checks them). */
const RULE_FLAGS = {
  target: 'target', lun: 'lun', sense: 'sense', key: 'key', asc: 'asc', ascq: 'ascq', op: 'op', opcodes: 'opcodes', lba: 'lba',
  initiator: 'initiator', after: 'afterCommands', every: 'every', probability: 'probability', startAfter: 'startAfterSeconds',
  duration: 'durationSeconds', count: 'count', delayMs: 'delayMs', jitterMs: 'jitterMs', softThreshold: 'softThresholdBlocks',
  limit: 'limitBlocks', note: 'note',
} as const satisfies Record<string, string>;
type RuleFlags = Partial<Record<keyof typeof RULE_FLAGS, string>>;

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const FLAG_OF_FIELD = new Map<string, string>(Object.entries(RULE_FLAGS).map(([flag, field]) => [field, `--${kebab(flag)}`]));

/** The rule `fault add` sends: the action plus every flag given. */
export function ruleFromFlags(action: string, flags: RuleFlags): Record<string, string> {
  const rule: Record<string, string> = { action };
  for (const [flag, field] of Object.entries(RULE_FLAGS)) {
    const value = flags[flag as keyof RuleFlags];
    if (value !== undefined) rule[field] = value;
  }
  return rule;
}

/** "lba: LBA 9000 is past the end ..." → "--lba: LBA 9000 is past the end ..." (the flag the user typed). */
export function inFlagTerms(message: string): string {
  const match = /^([A-Za-z]+)(\.[a-z]+)?: /.exec(message);
  const flag = match && FLAG_OF_FIELD.get(match[1] ?? '');
  return flag && match ? `${flag}${match[2] ?? ''}: ${message.slice(match[0].length)}` : message;
}

/** The systems to ask: --http, --system NAME of the lab, the lab's primary (`single`) or all of its systems. */
async function endpoints(flags: TargetFlags, single: boolean): Promise<SystemEndpoint[]> {
  if (flags.http !== undefined) {
    if (flags.system !== undefined) fail('give --http or --system, not both', 2);
    return [{ name: httpBaseOf(flags.http), url: httpBaseOf(flags.http).replace(/\/$/, '') }];
  }
  const systems = await labSystemsFrom(flags.stateDir);
  if (systems === undefined) fail(`no system to ask: give --http URL (the system's metrics: address), or run it next to a lab (${flags.stateDir}/lab.json not found)`, 2);
  const withHttp = systems.filter((s) => s.metricsUrl !== undefined);
  let chosen = withHttp;
  if (flags.system !== undefined) {
    chosen = withHttp.filter((s) => s.name === flags.system);
    if (chosen.length === 0) fail(`--system ${flags.system}: the lab in ${flags.stateDir} has no such system with an HTTP server (it has ${withHttp.map((s) => s.name).join(', ') || 'none'})`, 2);
  } else if (single) {
    const primary = withHttp.find((s) => s.role === 'primary') ?? withHttp[0];
    chosen = primary === undefined ? [] : [primary];
  }
  if (chosen.length === 0) fail(`the lab in ${flags.stateDir} lists no system with an HTTP server`, 2);
  return chosen.map((s) => ({ name: s.name, url: httpBaseOf(s.metricsUrl as string) }));
}

function token(flags: TargetFlags): string | undefined {
  return flags.token ?? process.env.ISCSI_SIM_TOKEN;
}

async function add(action: string, flags: TargetFlags & RuleFlags): Promise<void> {
  if (!(FAULT_ACTIONS as readonly string[]).includes(action)) fail(`"${action}" is not a fault action (known: ${FAULT_ACTIONS.join(', ')})`, 2);
  const [endpoint] = await endpoints(flags, true);
  if (endpoint === undefined) return;
  try {
    const rule = await requestJson<FaultRuleView>(endpoint, 'POST', '/api/faults', ruleFromFlags(action, flags), token(flags));
    process.stdout.write(flags.json ? `${JSON.stringify(rule, null, 2)}\n` : `${endpoint.name}: added ${faultRuleLine(rule)}\n`);
    exitSoon(0);
  } catch (error) {
    const message = error instanceof SystemHttpError && error.status === 400 ? inFlagTerms((error.message.split(' answered 400: ')[1] ?? error.message)) : (error as Error).message;
    fail(message, error instanceof SystemHttpError && error.status === 400 ? 2 : 1);
  }
}

async function list(flags: TargetFlags): Promise<void> {
  const systems = await readFaults(await endpoints(flags, false));
  if (flags.json) process.stdout.write(`${JSON.stringify({ systems: systems.map((s) => ({ system: s.system ?? s.endpoint.name, url: s.endpoint.url, ...(s.rules ? { rules: s.rules } : {}), ...(s.error ? { error: s.error } : {}) })) }, null, 2)}\n`);
  else process.stdout.write(`${faultLines(systems).join('\n')}\n`);
  exitSoon(systems.every((s) => s.error === undefined) ? 0 : 1);
}

async function clear(id: string | undefined, flags: TargetFlags & { target?: string; lun?: string }): Promise<void> {
  const [endpoint] = await endpoints(flags, true);
  if (endpoint === undefined) return;
  try {
    if (id !== undefined) {
      if (flags.target !== undefined || flags.lun !== undefined) fail('give a rule id or --target/--lun, not both', 2);
      const answer = await requestJson<{ removed: FaultRuleView }>(endpoint, 'DELETE', `/api/faults/${encodeURIComponent(id)}`, undefined, token(flags));
      process.stdout.write(`${endpoint.name}: removed ${faultRuleLine(answer.removed)}\n`);
    } else {
      const query = new URLSearchParams({ ...(flags.target === undefined ? {} : { target: flags.target }), ...(flags.lun === undefined ? {} : { lun: flags.lun }) }).toString();
      const answer = await requestJson<{ removed: number }>(endpoint, 'DELETE', `/api/faults${query === '' ? '' : `?${query}`}`, undefined, token(flags));
      process.stdout.write(`${endpoint.name}: removed ${answer.removed} fault rule${answer.removed === 1 ? '' : 's'}\n`);
    }
    exitSoon(0);
  } catch (error) {
    fail((error as Error).message, error instanceof SystemHttpError && error.status === 404 ? 2 : 1);
  }
}

function targetOptions(command: Command): Command {
  return command
    .option('--system <name>', 'the lab\'s system to ask (default: the primary; list: all)')
    .option('--http <url>', 'the system\'s HTTP server (its metrics: address), instead of a lab')
    .option('--state-dir <dir>', 'the lab\'s state dir', DEFAULT_LAB_STATE_DIR)
    .option('--token <token>', 'bearer token for changes (the system\'s metrics.token; default $ISCSI_SIM_TOKEN)')
    .option('--json', 'machine-readable output');
}

export function registerFault(program: Command): void {
  const command = program
    .command('fault')
    .description('inject faults into a running system\'s LUNs: medium errors, BUSY, delays, hung commands, dropped connections, ...');
  targetOptions(command
    .command('add <action>')
    .description(`add a fault rule; action: ${FAULT_ACTIONS.join(', ')}`)
    .option('--target <iqn>', 'the target (default: the system\'s only target)')
    .option('--lun <n>', 'the LUN (default 0)')
    .option('--sense <name>', 'check-condition: a sense name (unrecovered-read-error, write-error, hardware-write-error, not-ready-becoming-ready, capacity-data-changed, ...)')
    .option('--key <k>', 'check-condition: raw sense key (with --asc, --ascq)')
    .option('--asc <a>', 'raw additional sense code (0x11)')
    .option('--ascq <q>', 'raw additional sense code qualifier')
    .option('--op <op>', 'match read, write or any command (default any)')
    .option('--opcodes <list>', 'match these opcodes only (0x28,0x88)')
    .option('--lba <range>', 'match commands touching these LBAs (1000 or 1000-1009)')
    .option('--initiator <iqn>', 'match this initiator only')
    .option('--after <n>', 'skip the first N matching commands')
    .option('--every <n>', 'fire on every Nth matching command')
    .option('--probability <p>', 'fire with probability p (0 < p <= 1)')
    .option('--start-after <seconds>', 'active from this many seconds after it was added')
    .option('--duration <seconds>', 'active for this many seconds')
    .option('--count <n>', 'fire at most N times')
    .option('--delay-ms <ms>', 'delay: milliseconds')
    .option('--jitter-ms <ms>', 'delay: up to this many more milliseconds, at random')
    .option('--soft-threshold <blocks>', 'thin-exhaustion: blocks written before the soft-threshold unit attention')
    .option('--limit <blocks>', 'thin-exhaustion: blocks written before writes fail')
    .option('--note <text>', 'free text shown in listings'))
    .action((action: string, flags: TargetFlags & RuleFlags) => add(action, flags));
  targetOptions(command
    .command('list')
    .description('the fault rules of each system (a lab: all of them) and how often each fired'))
    .action((flags: TargetFlags) => list(flags));
  targetOptions(command
    .command('clear [id]')
    .description('remove one rule by id, or every rule (of --target/--lun)')
    .option('--target <iqn>', 'only this target\'s rules')
    .option('--lun <n>', 'only this LUN\'s rules'))
    .action((id: string | undefined, flags: TargetFlags & { target?: string; lun?: string }) => clear(id, flags));
}
