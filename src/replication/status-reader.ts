/**
 * Reads every pair's entry and latest published status straight from the shared store (one Redis or a
 * cluster: transport/store-connection.ts): what `iscsi-sim status` and the lab's live line show,
 * without asking either system process.
 */
import { pairKeys } from './keys.ts';
import { ALL_PAIRS_KEY, type PairEntry } from './mirror/pair-registry.ts';
import { agedStatus, type PairStatus } from './pair-types.ts';
import type { KeyValueStore } from './transport/transport.ts';

export interface PairReport {
  readonly entry: PairEntry;
  /** Undefined until the source published one (or when it has been silent for ~10 s). */
  readonly status?: PairStatus;
}

export async function readPairReports(store: Pick<KeyValueStore, 'get' | 'smembers'>): Promise<PairReport[]> {
  const ids = (await store.smembers(ALL_PAIRS_KEY)).sort();
  const reports: PairReport[] = [];
  for (const id of ids) {
    const keys = pairKeys(id);
    const [entryText, statusText] = await Promise.all([store.get(keys.config), store.get(keys.status)]);
    if (!entryText) continue;
    try {
      const entry = JSON.parse(entryText) as PairEntry;
      if (entry.admin === 'detached') continue;
      // Published up to a reconcile period ago: the RPO shown is aged to now.
      reports.push({ entry, ...(statusText ? { status: agedStatus(JSON.parse(statusText) as PairStatus) } : {}) });
    } catch {
      // a malformed entry is skipped, not fatal
    }
  }
  return reports;
}
