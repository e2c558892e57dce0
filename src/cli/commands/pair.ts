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
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CimClient, type ArgValue, type MethodResult } from '../../cim/client/client.ts';
import type { RawInstance as CimInstance, RawValue } from '../../cim/cimxml/parse.ts';
import { CLS, servicePath } from '../../cim/model/paths.ts';
import { getKey, TARGET_NAMESPACE, type ObjectPath } from '../../cim/types.ts';
import { exitSoon, fail } from '../lifecycle.ts';

/** ModifyReplicaSynchronization.Operation for each verb (CIM_ReplicationService value map). */
const OPERATIONS: Readonly<Record<string, number>> = {
  fracture: 12, resume: 16, resync: 14, failover: 10, failback: 11, reverse: 20, detach: 8, suspend: 22,
};

const RETURN_TEXT: Readonly<Record<number, string>> = {
  0: 'Completed', 1: 'Not Supported', 2: 'Unknown', 3: 'Timeout', 4: 'Failed', 5: 'Invalid Parameter', 6: 'In Use', 4096: 'Job Started',
};

/** CIM_StorageSynchronized.CopyState names (the ones pairs take). */
const COPY_STATE: Readonly<Record<number, string>> = {
  2: 'Initialized', 3: 'Unsynchronized', 4: 'Synchronized', 5: 'Broken', 6: 'Fractured', 8: 'Inactive', 9: 'Suspended', 10: 'Failedover',
};

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

interface Endpoint { readonly url: string; readonly system: string; /** A lab system's certificate (https). */ readonly caFile?: string }

interface PairView {
  readonly id: string;
  readonly path: ObjectPath;
  readonly source: string;
  readonly target: string;
  readonly copyState: number;
  readonly splitBrain: boolean;
}

/** --cim/--system, else every system of the lab (primary first). */
async function endpoints(flags: PairFlags): Promise<Endpoint[]> {
  if (flags.cim) {
    if (!flags.system) fail('--cim needs --system NAME (the name of the system that CIM server belongs to)', 2);
    return [{ url: flags.cim, system: flags.system, ...(flags.cacert === undefined ? {} : { caFile: flags.cacert }) }];
  }
  const file = join(flags.stateDir, 'lab.json');
  let lab: { systems?: Array<{ name: string; role?: string; cimUrl?: string; cimCertificate?: string }> };
  try {
    lab = JSON.parse(await readFile(file, 'utf8')) as typeof lab;
  } catch {
    fail(`no CIM server to ask: give --cim URL --system NAME, or run it next to a lab (${file} not found)`, 2);
  }
  const systems = (lab.systems ?? []).filter((s) => s.cimUrl).sort((a, b) => Number(b.role === 'primary') - Number(a.role === 'primary'));
  if (systems.length === 0) fail(`${file} lists no system with a CIM server`, 2);
  return systems.map((s) => ({ url: s.cimUrl!, system: s.name, ...(s.cimCertificate === undefined ? {} : { caFile: s.cimCertificate }) }));
}

/** The first system whose CIM server answers, with the pairs it knows. */
async function connect(flags: PairFlags): Promise<{ client: CimClient; endpoint: Endpoint; pairs: PairView[] }> {
  const errors: string[] = [];
  for (const endpoint of await endpoints(flags)) {
    const client = new CimClient({ url: endpoint.url, user: flags.user, password: flags.password, caFile: endpoint.caFile, insecure: flags.insecure, timeoutMs: Number(flags.timeout) || 30_000 });
    try {
      const instances = await client.enumerateInstances(TARGET_NAMESPACE, CLS.synchronized);
      return { client, endpoint, pairs: instances.map(({ path, instance }) => pairView(path, instance)) };
    } catch (err) {
      errors.push(`${endpoint.system} (${endpoint.url}): ${(err as Error).message}`);
    }
  }
  fail(`no CIM server answered: ${errors.join('; ')}`);
}

function text(instance: CimInstance, name: string): string | undefined {
  const value = instance.properties.find((p) => p.name === name)?.value;
  return value?.kind === 'value' ? value.text : undefined;
}

function systemOf(element: unknown): string {
  return typeof element === 'object' && element !== null ? String(getKey(element as ObjectPath, 'SystemName') ?? '?') : '?';
}

function pairView(path: ObjectPath, instance: CimInstance): PairView {
  return {
    id: text(instance, 'PairID') ?? '?',
    path: { ...path, namespace: TARGET_NAMESPACE },
    source: systemOf(getKey(path, 'SystemElement')),
    target: systemOf(getKey(path, 'SyncedElement')),
    copyState: Number(text(instance, 'CopyState') ?? 0),
    splitBrain: text(instance, 'SplitBrain')?.toLowerCase() === 'true',
  };
}

function describe(pair: PairView): string {
  const state = COPY_STATE[pair.copyState] ?? `CopyState ${pair.copyState}`;
  return `${pair.id} ${pair.source} → ${pair.target} ${state}${pair.splitBrain ? ' (SPLIT BRAIN: resolve with pair resolve PAIR --keep SYSTEM)' : ''}`;
}

function reasonOf(result: MethodResult): string {
  const reason: RawValue | undefined = result.out.ErrorDescription;
  return reason?.kind === 'value' ? reason.text : 'no reason given';
}

/** Polls the job to its end: undefined when it completed, else its error description. */
async function jobOutcome(client: CimClient, job: ObjectPath, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const instance = await client.getInstance({ ...job, namespace: job.namespace ?? TARGET_NAMESPACE });
    const state = Number(text(instance, 'JobState') ?? 0);
    if (state === 7) return undefined;
    if (state >= 8) return text(instance, 'ErrorDescription') ?? `JobState ${state}`;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return `the job did not finish within ${Math.round(timeoutMs / 1000)} s`;
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
  const { client, endpoint, pairs } = await connect(flags);
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
