/**
 * The mirror pairs as an SMI-S client sees them through a system's CIM server: which server to ask
 * (--cim/--system, else the lab's systems, the primary first and the peer when the primary does not
 * answer), the StorageSynchronized instances, ModifyReplicaSynchronization's codes and job polling.
 * `iscsi-sim pair` and scenario steps use it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CimClient, type MethodResult } from '../cim/client/client.ts';
import type { RawInstance as CimInstance, RawValue } from '../cim/cimxml/parse.ts';
import { CLS } from '../cim/model/paths.ts';
import { getKey, TARGET_NAMESPACE, type ObjectPath } from '../cim/types.ts';

/** Where to find the CIM servers (pair's flags). */
export interface CimPairsOptions {
  readonly cim?: string;
  readonly system?: string;
  readonly stateDir: string;
  readonly timeout?: string;
  readonly cacert?: string;
  readonly insecure?: boolean;
  /** Basic auth for a CIM server with user/password. */
  readonly user?: string;
  readonly password?: string;
}

/** A problem finding or reaching a CIM server; `exitCode` 2 for usage errors. */
export class CimPairsError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'CimPairsError';
  }
}

/** ModifyReplicaSynchronization.Operation for each verb (CIM_ReplicationService value map). */
export const OPERATIONS: Readonly<Record<string, number>> = {
  fracture: 12, resume: 16, resync: 14, failover: 10, failback: 11, reverse: 20, detach: 8, suspend: 22,
};

export const RETURN_TEXT: Readonly<Record<number, string>> = {
  0: 'Completed', 1: 'Not Supported', 2: 'Unknown', 3: 'Timeout', 4: 'Failed', 5: 'Invalid Parameter', 6: 'In Use', 4096: 'Job Started',
};

/** CIM_StorageSynchronized.CopyState names (the ones pairs take). */
export const COPY_STATE: Readonly<Record<number, string>> = {
  2: 'Initialized', 3: 'Unsynchronized', 4: 'Synchronized', 5: 'Broken', 6: 'Fractured', 8: 'Inactive', 9: 'Suspended', 10: 'Failedover',
};


export interface Endpoint { readonly url: string; readonly system: string; /** A lab system's certificate (https). */ readonly caFile?: string }

export interface PairView {
  readonly id: string;
  readonly path: ObjectPath;
  readonly source: string;
  readonly target: string;
  readonly copyState: number;
  readonly splitBrain: boolean;
}

/** --cim/--system, else every system of the lab (primary first). */
export async function cimEndpoints(flags: CimPairsOptions): Promise<Endpoint[]> {
  if (flags.cim) {
    if (!flags.system) throw new CimPairsError('--cim needs --system NAME (the name of the system that CIM server belongs to)', 2);
    return [{ url: flags.cim, system: flags.system, ...(flags.cacert === undefined ? {} : { caFile: flags.cacert }) }];
  }
  const file = join(flags.stateDir, 'lab.json');
  let lab: { systems?: Array<{ name: string; role?: string; cimUrl?: string; cimCertificate?: string }> };
  try {
    lab = JSON.parse(await readFile(file, 'utf8')) as typeof lab;
  } catch {
    throw new CimPairsError(`no CIM server to ask: give --cim URL --system NAME, or run it next to a lab (${file} not found)`, 2);
  }
  const systems = (lab.systems ?? []).filter((s) => s.cimUrl).sort((a, b) => Number(b.role === 'primary') - Number(a.role === 'primary'));
  if (systems.length === 0) throw new CimPairsError(`${file} lists no system with a CIM server`, 2);
  return systems.map((s) => ({ url: s.cimUrl!, system: s.name, ...(s.cimCertificate === undefined ? {} : { caFile: s.cimCertificate }) }));
}

/** The first system whose CIM server answers, with the pairs it knows. */
export async function connectCim(flags: CimPairsOptions): Promise<{ client: CimClient; endpoint: Endpoint; pairs: PairView[] }> {
  const errors: string[] = [];
  for (const endpoint of await cimEndpoints(flags)) {
    const client = new CimClient({ url: endpoint.url, user: flags.user, password: flags.password, caFile: endpoint.caFile, insecure: flags.insecure, timeoutMs: Number(flags.timeout) || 30_000 });
    try {
      const instances = await client.enumerateInstances(TARGET_NAMESPACE, CLS.synchronized);
      return { client, endpoint, pairs: instances.map(({ path, instance }) => pairView(path, instance)) };
    } catch (err) {
      errors.push(`${endpoint.system} (${endpoint.url}): ${(err as Error).message}`);
    }
  }
  throw new CimPairsError(`no CIM server answered: ${errors.join('; ')}`, 1);
}

export function text(instance: CimInstance, name: string): string | undefined {
  const value = instance.properties.find((p) => p.name === name)?.value;
  return value?.kind === 'value' ? value.text : undefined;
}

export function systemOf(element: unknown): string {
  return typeof element === 'object' && element !== null ? String(getKey(element as ObjectPath, 'SystemName') ?? '?') : '?';
}

export function pairView(path: ObjectPath, instance: CimInstance): PairView {
  return {
    id: text(instance, 'PairID') ?? '?',
    path: { ...path, namespace: TARGET_NAMESPACE },
    source: systemOf(getKey(path, 'SystemElement')),
    target: systemOf(getKey(path, 'SyncedElement')),
    copyState: Number(text(instance, 'CopyState') ?? 0),
    splitBrain: text(instance, 'SplitBrain')?.toLowerCase() === 'true',
  };
}

export function describe(pair: PairView): string {
  const state = COPY_STATE[pair.copyState] ?? `CopyState ${pair.copyState}`;
  return `${pair.id} ${pair.source} → ${pair.target} ${state}${pair.splitBrain ? ' (SPLIT BRAIN: resolve with pair resolve PAIR --keep SYSTEM)' : ''}`;
}

export function reasonOf(result: MethodResult): string {
  const reason: RawValue | undefined = result.out.ErrorDescription;
  return reason?.kind === 'value' ? reason.text : 'no reason given';
}

/** Polls the job to its end: undefined when it completed, else its error description. */
export async function jobOutcome(client: CimClient, job: ObjectPath, timeoutMs: number): Promise<string | undefined> {
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

