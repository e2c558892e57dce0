/**
 * Recent events for the dashboard, found by comparing two consecutive states: a pair's phase changes
 * (failover, failback, resync, split brain…), a hand-over completes (lastTransfer), the emulated
 * replication link's conditions change (partition, latency…), a fault rule is added or removed, a pair appears or
 * goes, an initiator logs in or out, a system becomes unreachable or comes back. What the replication
 * engine publishes in its status is enough; a phase shorter than a sample may be missed, its
 * consequence (the next phase, lastTransfer) is not.
 */
import type { DashboardEvent, DashboardEventKind, DashboardState, PairState, SystemState } from './dashboard-types.ts';

const PHASE_KINDS: Readonly<Record<string, DashboardEventKind>> = {
  'failing-over': 'failover',
  'failed-over': 'failover',
  'failing-back': 'failback',
  resyncing: 'resync',
  'split-brain': 'split-brain',
};

export function stateEvents(before: DashboardState | undefined, after: DashboardState): DashboardEvent[] {
  if (before === undefined) return [];
  const at = after.at;
  const events: DashboardEvent[] = [];
  const previousPairs = new Map(before.pairs.map((p) => [p.pairId, p]));
  for (const pair of after.pairs) {
    const was = previousPairs.get(pair.pairId);
    previousPairs.delete(pair.pairId);
    events.push(...pairEvents(at, was, pair));
  }
  for (const gone of previousPairs.values()) {
    events.push({ at, kind: 'phase', pairId: gone.pairId, message: `${gone.pairId} (${gone.source} → ${gone.target}) is no longer reported (detached, or its systems are unreachable)` });
  }
  const previousSystems = new Map(before.systems.map((s) => [s.name, s]));
  for (const system of after.systems) {
    const was = previousSystems.get(system.name);
    if (was) events.push(...systemEvents(at, was, system));
  }
  return events;
}

function pairEvents(at: string, was: PairState | undefined, pair: PairState): DashboardEvent[] {
  const name = `${pair.pairId} (${pair.source} → ${pair.target})`;
  if (was === undefined) return [{ at, kind: 'phase', pairId: pair.pairId, message: `${name}: new pair, ${pair.phase}` }];
  const events: DashboardEvent[] = [];
  if (was.phase !== pair.phase) {
    const detail = pair.phase === 'split-brain' && pair.splitBrain
      ? `: both systems wrote while disconnected (${Object.entries(pair.splitBrain.changes).map(([s, grains]) => `${s} ${grains} grains`).join(', ')})`
      : '';
    events.push({ at, kind: PHASE_KINDS[pair.phase] ?? 'phase', pairId: pair.pairId, message: `${name}: ${was.phase} → ${pair.phase}${detail}` });
  }
  if (pair.link !== was.link) {
    events.push({ at, kind: 'link', pairId: pair.pairId, message: `${pair.pairId}: replication link ${pair.link === undefined ? `back to normal (was ${was.link})` : `now ${pair.link}`}` });
  }
  if (pair.lastTransfer && pair.lastTransfer.at !== was.lastTransfer?.at) {
    const t = pair.lastTransfer;
    events.push({ at, kind: 'transfer', pairId: pair.pairId, message: `${pair.pairId}: ${t.operation} complete, ${t.grains} grains (${t.bytes} bytes) shipped from ${t.from}` });
  }
  return events;
}

function systemEvents(at: string, was: SystemState, system: SystemState): DashboardEvent[] {
  if (was.reachable !== system.reachable) {
    return [{ at, kind: 'system', system: system.name, message: system.reachable ? `${system.name} is reachable again` : `${system.name} is unreachable: ${system.error ?? 'no answer'}` }];
  }
  if (!system.reachable) return [];
  const events: DashboardEvent[] = [];
  const rules = new Map((was.faults ?? []).map((rule) => [String(rule.id), rule]));
  for (const rule of system.faults ?? []) {
    if (!rules.delete(String(rule.id))) events.push({ at, kind: 'fault', system: system.name, message: `${system.name}: fault rule ${String(rule.id)} added (${faultText(rule)})` });
  }
  for (const rule of rules.values()) events.push({ at, kind: 'fault', system: system.name, message: `${system.name}: fault rule ${String(rule.id)} removed (${faultText(rule)}, fired ${String(rule.fired ?? 0)} times)` });
  const key = (s: SystemState['sessions'][number]) => `${s.isid}/${s.tsih}/${s.initiatorAddress}`;
  const before = new Map(was.sessions.map((s) => [key(s), s]));
  for (const session of system.sessions) {
    if (before.delete(key(session))) continue;
    events.push({ at, kind: 'session', system: system.name, message: `${session.initiatorName} (${session.initiatorAddress}) logged in to ${session.target ?? 'discovery'} on ${system.name}` });
  }
  for (const session of before.values()) {
    events.push({ at, kind: 'session', system: system.name, message: `${session.initiatorName} (${session.initiatorAddress}) logged out of ${session.target ?? 'discovery'} on ${system.name}` });
  }
  return events;
}

function faultText(rule: Readonly<Record<string, unknown>>): string {
  return `${String(rule.action)} on ${String(rule.target)} LUN ${String(rule.lun)}`;
}
