/** Publishes what the admin-state table decided for an operation (or throws its refusal). */
import type { Plan } from '../mirror/admin-transitions.ts';
import { generationOf, type EntryChanges, type EntryUpdate, type PairEntry } from '../mirror/pair-registry.ts';
import { EngineError } from './engine-error.ts';
import type { EngineState } from './engine-state.ts';

/**
 * Plans against the entry as it is in Redis when it is written (`entry` when Redis has none): a change
 * published concurrently makes it plan again from that change, never overwrites it.
 */
export async function publishPlan(state: EngineState, entry: PairEntry, planFor: (current: PairEntry) => Plan): Promise<PairEntry> {
  const pairId = entry.record.pairId;
  const result = await state.registry.update(pairId, (current) => decide(current ?? entry, planFor));
  const published = result.entry!;
  state.entries.set(pairId, published);
  return published;
}

function decide(current: PairEntry, planFor: (current: PairEntry) => Plan): EntryUpdate {
  if (current.admin === 'detached') throw new EngineError('invalid', `no mirror ${current.record.pairId}`);
  const plan = planFor(current);
  if (plan.kind === 'refuse') throw new EngineError('state', plan.reason);
  const { record } = current;
  const changes: EntryChanges = {
    ...(plan.reverse ? { generation: generationOf(current) + 1 } : {}),
    ...(plan.forced ? { fenced: record.source.system } : {}),
    ...(current.admin === 'split-brain' && plan.admin !== 'split-brain' ? { splitBrain: null } : {}),
  };
  const next = plan.reverse ? { ...record, source: record.target, target: record.source } : record;
  return { record: next, admin: plan.admin, changes };
}
