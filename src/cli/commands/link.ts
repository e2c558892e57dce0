/**
 * `iscsi-sim link [PAIR|--all] [--partition|--heal] [--latency 50ms] [--rate 20MB/s|off] [--loss 1%] [--clear]`:
 * the emulated replication link of mirror pairs, over the systems' HTTP APIs (next to a lab: its
 * lab.json; elsewhere --http URL per system). Without a change it lists each system's links and what
 * they did (refused, lost, retransmitted, carried).
 */
import type { Command } from 'commander';
import { LinkInputError, parseLatency, parseLoss, parseRate, type LinkChange } from '../../replication/link/link-conditions.ts';
import { exitSoon, fail } from '../lifecycle.ts';
import { DEFAULT_LAB_STATE_DIR } from '../lab-endpoint.ts';
import { changeLinks, choosePairs, listingLines, outcomeLines, readLinks } from '../link-control.ts';
import { systemEndpoints } from '../system-http.ts';

interface LinkFlags {
  all?: boolean;
  partition?: boolean;
  heal?: boolean;
  latency?: string;
  rate?: string;
  loss?: string;
  clear?: boolean;
  http?: string[];
  token?: string;
  stateDir: string;
  json?: boolean;
}

/** The change the flags ask for; undefined when they ask for none (list). Throws naming the flag. */
export function changeFromFlags(flags: Pick<LinkFlags, 'partition' | 'heal' | 'latency' | 'rate' | 'loss'>): LinkChange | undefined {
  if (flags.partition && flags.heal) throw new LinkInputError('--partition/--heal', 'give one of them, not both');
  const change: { -readonly [K in keyof LinkChange]: LinkChange[K] } = {};
  if (flags.partition) change.partitioned = true;
  if (flags.heal) change.partitioned = false;
  if (flags.latency !== undefined) change.latencyMs = parseLatency(flags.latency, '--latency');
  if (flags.rate !== undefined) change.rateBytesPerSecond = parseRate(flags.rate, '--rate');
  if (flags.loss !== undefined) change.loss = parseLoss(flags.loss, '--loss');
  return Object.keys(change).length === 0 ? undefined : change;
}

async function link(pair: string | undefined, flags: LinkFlags): Promise<void> {
  let change: LinkChange | undefined;
  try {
    change = changeFromFlags(flags);
  } catch (error) {
    fail((error as Error).message, 2);
  }
  if (flags.clear && change !== undefined) fail('--clear removes every condition: give it alone', 2);
  let endpoints;
  try {
    endpoints = await systemEndpoints({ ...(flags.http ? { urls: flags.http } : {}), stateDir: flags.stateDir });
  } catch (error) {
    fail((error as Error).message, 2);
  }
  const systems = await readLinks(endpoints);
  const token = flags.token ?? process.env.ISCSI_SIM_TOKEN;
  if (change === undefined && !flags.clear) {
    if (flags.json) process.stdout.write(`${JSON.stringify({ systems }, null, 2)}\n`);
    else process.stdout.write(`${listingLines(systems).join('\n')}\n`);
    exitSoon(systems.some((s) => s.links !== undefined) ? 0 : 1);
    return;
  }
  let pairIds: string[];
  try {
    pairIds = choosePairs(systems, pair, flags.all === true);
  } catch (error) {
    fail((error as Error).message);
  }
  const outcomes = await changeLinks(systems, pairIds, flags.clear ? 'clear' : change!, token);
  if (flags.json) process.stdout.write(`${JSON.stringify({ outcomes }, null, 2)}\n`);
  else process.stdout.write(`${outcomeLines(outcomes).join('\n')}\n`);
  const refused = outcomes.find((o) => o.applied.length === 0);
  if (refused) fail(`the link of ${refused.pairId} was not changed on any system${refused.missed[0] ? `: ${refused.missed[0].error}` : ''}`);
  exitSoon(0);
}

export function registerLink(program: Command): void {
  program
    .command('link [pair]')
    .description('emulate the replication link of a mirror pair: partition, heal, latency, bandwidth cap, loss (no option: list)')
    .option('--all', 'every mirror pair')
    .option('--partition', 'cut the link: shipping stops, the pair goes ahead and tracks dirty grains')
    .option('--heal', 'end the partition: the pair resyncs the dirty grains only')
    .option('--latency <time>', 'added one-way latency per transmission (50ms, 1.5s; 0 removes it)')
    .option('--rate <rate>', 'bandwidth cap on payload bytes (20MB/s = 20,000,000 bytes/s, 16MiB/s, 100Mbit/s; off removes it)')
    .option('--loss <p>', 'probability a transmission is lost and sent again (0.01 or 1%; 0 removes it)')
    .option('--clear', 'every condition off')
    .option('--http <url...>', 'a system\'s HTTP server (its metrics: address), once per system; default: the lab\'s systems')
    .option('--token <token>', 'bearer token of the systems\' HTTP API (metrics.token; default $ISCSI_SIM_TOKEN)')
    .option('--json', 'machine-readable output')
    .option('--state-dir <dir>', 'lab state dir to find the lab\'s systems in', DEFAULT_LAB_STATE_DIR)
    .action((pair: string | undefined, flags: LinkFlags) => link(pair, flags));
}
