/** Publishes what the admin-state table decided for an operation (or throws its refusal). */
import type { Plan } from '../mirror/admin-transitions.ts';
import { generationOf, type EntryChanges, type PairEntry } from '../mirror/pair-registry.ts';
import { EngineError } from './engine-error.ts';
import type { EngineState } from './engine-state.ts';

export async function publishPlan(state: EngineState, entry: PairEntry, plan: Plan): Promise<PairEntry> {
  if (plan.kind === 'refuse') throw new EngineError('state', plan.reason);
  const { record } = entry;
  const changes: EntryChanges = {
    ...(plan.reverse ? { generation: generationOf(entry) + 1 } : {}),
    ...(plan.forced ? { fenced: record.source.system } : {}),
    ...(entry.admin === 'split-brain' && plan.admin !== 'split-brain' ? { splitBrain: null } : {}),
  };
  const next = plan.reverse ? { ...record, source: record.target, target: record.source } : record;
  const published = await state.registry.publish(next, plan.admin, changes);
  state.entries.set(record.pairId, published);
  return published;
}
