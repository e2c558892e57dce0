/**
 * `iscsi-sim pair`: the mirror pair lifecycle through the same CIM methods an SMI-S client calls
 * (ModifyReplicaSynchronization on the ReplicationService; vendor ResolveSplitBrain and
 * SetSplitBrainPolicy). Next to a lab it asks the lab's systems (lab.json), the primary first and the
 * peer when the primary does not answer (its site may be down: that is when failover is used).
 *
 *   iscsi-sim pair [PAIR|--all] fracture|resume|resync|failover|failback|reverse|detach [--force] [--wait]
 *   iscsi-sim pair resolve PAIR --keep SYSTEM [--wait]
 *   iscsi-sim pair PAIR policy manual|discard-zero-changes|discard-least-changes
 *   iscsi-sim pair list
 */
import type { Command } from 'commander';
import type { ArgValue, CimClient } from '../../cim/client/client.ts';
import { CLS, servicePath } from '../../cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../cim/types.ts';
import {
  CimPairsError, connectCim, describe, jobOutcome, OPERATIONS, pairView, reasonOf, RETURN_TEXT, type Endpoint, type PairView,
} from '../cim-pairs.ts';
import { exitSoon, fail } from '../lifecycle.ts';

interface PairFlags {
  all?: boolean;
  force?: boolean;
  wait?: boolean;
  keep?: string;
  cim?: string;
  system?: string;
  stateDir: string;
  timeout: string;
  cacert?: string;
  insecure?: boolean;
  user?: string;
  password?: string;
}

/** Runs one method on one pair and prints the outcome; returns whether it succeeded. */
async function invoke(client: CimClient, endpoint: Endpoint, pair: PairView, verb: string, method: string, args: Record<string, ArgValue>, wait: boolean): Promise<boolean> {
  const service = { ...servicePath(endpoint.system), namespace: TARGET_NAMESPACE };
  const result = await client.invokeMethod(service, method, { Synchronization: pair.path, ...args });
  const code = `${result.returnValue} (${RETURN_TEXT[result.returnValue] ?? 'unknown'})`;
  if (result.returnValue !== 0 && result.returnValue !== 4096) {
    process.stdout.write(`${pair.id}: ${verb} refused: ${reasonOf(result)} [${method} returned ${code}]\n`);
    return false;
  }
  const job = result.out.Job;
  if (result.returnValue === 4096 && job?.kind === 'ref') {
    if (!wait) {
      process.stdout.write(`${pair.id}: ${verb} started (job ${String(job.path.keys.InstanceID)}; --wait follows it)\n`);
      return true;
    }
    const error = await jobOutcome(client, job.path, 24 * 3600_000);
    if (error !== undefined) {
      process.stdout.write(`${pair.id}: ${verb} failed: ${error}\n`);
      return false;
    }
  }
  const after = (await client.enumerateInstances(TARGET_NAMESPACE, CLS.synchronized)).map(({ path, instance }) => pairView(path, instance)).find((p) => p.id === pair.id);
  process.stdout.write(`${pair.id}: ${verb} done${after ? `: ${describe(after)}` : ''}\n`);
  return true;
}

function pick(pairs: readonly PairView[], id: string | undefined, all: boolean): PairView[] {
  if (all) return [...pairs];
  if (!id) fail('name a pair (see `iscsi-sim pair list`) or give --all', 2);
  const found = pairs.filter((p) => p.id === id);
  if (found.length === 0) fail(`no pair ${id}; pairs: ${pairs.map((p) => p.id).join(', ') || 'none'}`, 2);
  return found;
}

async function pairCommand(words: readonly string[], flags: PairFlags): Promise<void> {
  const [first, second, third] = words;
  let connected: Awaited<ReturnType<typeof connectCim>>;
  try {
    connected = await connectCim(flags);
  } catch (error) {
    fail((error as Error).message, error instanceof CimPairsError ? error.exitCode : 1);
  }
  const { client, endpoint, pairs } = connected;
  let ok = true;
  try {
    if (first === undefined || first === 'list') {
      if (pairs.length === 0) process.stdout.write('no mirror pairs\n');
      for (const pair of pairs) process.stdout.write(`${describe(pair)}\n`);
    } else if (first === 'resolve') {
      if (!flags.keep) fail('pair resolve PAIR --keep SYSTEM: name the system whose data survives', 2);
      for (const pair of pick(pairs, second, flags.all ?? false)) {
        ok = await invoke(client, endpoint, pair, `resolve (keep ${flags.keep})`, 'ResolveSplitBrain', { KeepSystem: flags.keep }, flags.wait ?? false) && ok;
      }
    } else {
      const [id, verb, value] = flags.all ? [undefined, first, second] : [first, second, third];
      if (verb === 'policy') {
        if (!value) fail('pair PAIR policy manual|discard-zero-changes|discard-least-changes', 2);
        for (const pair of pick(pairs, id, flags.all ?? false)) ok = await invoke(client, endpoint, pair, `policy ${value}`, 'SetSplitBrainPolicy', { Policy: value }, false) && ok;
      } else {
        const operation = verb === undefined ? undefined : OPERATIONS[verb];
        if (operation === undefined) fail(`unknown operation ${verb ?? '(none)'}: use ${Object.keys(OPERATIONS).join(', ')}, resolve or policy`, 2);
        for (const pair of pick(pairs, id, flags.all ?? false)) {
          ok = await invoke(client, endpoint, pair, verb!, 'ModifyReplicaSynchronization', { Operation: operation, ...(flags.force ? { Force: true } : {}) }, flags.wait ?? false) && ok;
        }
      }
    }
  } catch (err) {
    fail(`pair through ${endpoint.system} (${endpoint.url}): ${(err as Error).message}`);
  }
  exitSoon(ok ? 0 : 1);
}

export function registerPair(program: Command): void {
  program
    .command('pair')
    .argument('[words...]', 'PAIR OPERATION | --all OPERATION | resolve PAIR | PAIR policy POLICY | list')
    .description('mirror pair lifecycle through CIM (ModifyReplicaSynchronization): fracture, resume, resync, failover, failback, reverse, detach, suspend; resolve a split brain; list')
    .option('--all', 'every pair')
    .option('--force', 'Force=true (failover without waiting for the source to drain: site down)')
    .option('--wait', 'follow the job to its end and print the outcome')
    .option('--keep <system>', 'resolve: the system whose data survives')
    .option('--cim <url>', 'CIM server to ask (default: the lab\'s systems, primary first)')
    .option('--system <name>', 'name of the system that --cim belongs to')
    .option('--cacert <file>', 'https --cim: trust this PEM certificate (a self-signed server\'s is <state dir>/cim-tls/cert.pem)')
    .option('-k, --insecure', 'https --cim: accept any certificate')
    .option('--user <user>', 'basic auth user (a CIM server with user/password)')
    .option('--password <password>', 'basic auth password')
    .option('--state-dir <dir>', 'lab state dir to find the lab in', 'state/lab')
    .option('--timeout <ms>', 'per-request timeout', '30000')
    .action((words: string[], flags: PairFlags) => pairCommand(words, flags));
}
