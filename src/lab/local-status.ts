/**
 * What each system knows on its own, for when the shared Redis is unreachable: the pairs written down
 * in its state dir (`replication/pairs.json`: record and administrative state) and, when the system is
 * running, its live figures from its own /metrics endpoint (copy state, bytes behind, RPO, dirty
 * grains), which it serves without Redis. Used by `iscsi-sim status` and the lab's live line.
 */
import { join } from 'node:path';
import type { PairEntry } from '../replication/mirror/pair-registry.ts';
import { readStateFile } from '../util/state-file.ts';
import { formatBytes } from './status-format.ts';

export interface LocalSystem {
  readonly name: string;
  readonly stateDir: string;
  readonly metricsUrl?: string;
}

/** One pair's gauges as the system exports them (iscsi_sim_replication_* without the prefix). */
export type LocalFigures = Readonly<Record<string, number>>;

export interface LocalPair {
  readonly entry: PairEntry;
  /** undefined when the system is not running or has no /metrics. */
  readonly figures?: LocalFigures & { readonly role?: string };
}

export interface LocalSystemStatus {
  readonly name: string;
  readonly pairs: readonly LocalPair[];
  /** Why the live figures are missing ("not running (…)"), or why the state dir could not be read. */
  readonly problem?: string;
}

export async function readLocalStatus(systems: readonly LocalSystem[], timeoutMs = 1500): Promise<LocalSystemStatus[]> {
  return Promise.all(systems.map(async (system): Promise<LocalSystemStatus> => {
    let entries: PairEntry[];
    try {
      entries = Object.values((await readStateFile(join(system.stateDir, 'replication', 'pairs.json')) ?? {}) as Record<string, PairEntry>);
    } catch (error) {
      return { name: system.name, pairs: [], problem: (error as Error).message };
    }
    if (!system.metricsUrl) return { name: system.name, pairs: entries.map((entry) => ({ entry })), problem: 'no /metrics endpoint' };
    try {
      const response = await fetch(system.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const figures = parseReplicationGauges(await response.text());
      return { name: system.name, pairs: entries.map((entry) => ({ entry, ...(figures.has(entry.record.pairId) ? { figures: figures.get(entry.record.pairId)! } : {}) })) };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : cause?.code ?? cause?.message ?? (error as Error).message;
      return { name: system.name, pairs: entries.map((entry) => ({ entry })), problem: `not answering on ${system.metricsUrl} (${reason})` };
    }
  }));
}

/** pairId → { copy_state: 3, bytes_behind: …, role } from Prometheus text. */
export function parseReplicationGauges(text: string): Map<string, Record<string, number> & { role?: string }> {
  const pairs = new Map<string, Record<string, number> & { role?: string }>();
  for (const line of text.split('\n')) {
    const match = line.match(/^iscsi_sim_replication_(\w+)\{([^}]*)\}\s+(\S+)$/);
    if (!match) continue;
    const labels = new Map([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const pair = labels.get('pair');
    if (pair === undefined) continue;
    const figures = pairs.get(pair) ?? {};
    figures[match[1]!] = Number(match[3]);
    const role = labels.get('role');
    if (role !== undefined) figures.role = role;
    pairs.set(pair, figures);
  }
  return pairs;
}

/** CIM CopyState names (DMTF value map), as the /metrics gauge carries the number. */
const COPY_STATES: Readonly<Record<number, string>> = {
  2: 'Initialized', 3: 'Unsynchronized', 4: 'Synchronized', 5: 'Broken', 6: 'Fractured', 7: 'Split',
  8: 'Inactive', 9: 'Suspended', 10: 'Failedover', 12: 'Aborted', 13: 'Skewed',
};

export function localPairLine(system: string, pair: LocalPair): string {
  const { record } = pair.entry;
  const route = `${record.source.system}/lun${record.source.lun} → ${record.target.system}/lun${record.target.lun}`;
  const parts = [`${system}: ${record.pairId}`, route, record.mode, `admin=${pair.entry.admin}`];
  const f = pair.figures;
  if (f) {
    if (f.role !== undefined) parts.push(f.role);
    if (f.copy_state !== undefined) parts.push(COPY_STATES[f.copy_state] ?? `CopyState ${f.copy_state}`);
    if (f.bytes_behind !== undefined) parts.push(`behind ${formatBytes(f.bytes_behind)}`);
    if (f.out_of_sync_bytes !== undefined) parts.push(`out of sync ${Number.isNaN(f.out_of_sync_bytes) ? 'unknown' : formatBytes(f.out_of_sync_bytes)}`);
    if (f.rpo_seconds !== undefined) parts.push(`RPO ${Number.isNaN(f.rpo_seconds) ? 'unknown' : `${f.rpo_seconds.toFixed(1)} s`}`);
    if (f.dirty_grains !== undefined) parts.push(`${f.dirty_grains} dirty grains`);
    if (f.dirty_map_persist_failing === 1) parts.push('DIRTY MAP PERSIST FAILING');
  }
  return parts.join('  ');
}

/** Lines for `iscsi-sim status` (and, joined, the live line) after the Redis line. */
export function localStatusLines(systems: readonly LocalSystemStatus[]): string[] {
  const lines: string[] = [];
  for (const system of systems) {
    const note = system.problem === undefined ? '' : ` (${system.problem})`;
    if (system.pairs.length === 0) lines.push(`${system.name}: no pairs in its state dir${note}`);
    for (const pair of system.pairs) lines.push(`${localPairLine(system.name, pair)}${pair.figures ? '' : note}`);
  }
  return lines;
}
