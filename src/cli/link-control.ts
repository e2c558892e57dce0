/**
 * Sets and reads the emulated replication link of mirror pairs over the systems' HTTP APIs
 * (/api/links, src/app/link-routes.ts). A change goes to every system of the pair that answers, so the
 * conditions hold whichever side ships; one that does not answer is named (its saved conditions come
 * back with it). Used by `iscsi-sim link` and by scenario steps.
 */
import type { LinkChange, LinkConditions } from '../replication/link/link-conditions.ts';
import type { LinkCounters } from '../replication/link/link-shaper.ts';
import { readListings, requestJson, type SystemEndpoint, type SystemListing } from './system-http.ts';

export interface LinkView {
  readonly pairId: string;
  readonly role: 'source' | 'target';
  readonly phase: string;
  readonly conditions: LinkConditions;
  readonly description: string;
  readonly counters: LinkCounters;
}

export type SystemLinks = SystemListing<'links', LinkView>;

export function readLinks(endpoints: readonly SystemEndpoint[], timeoutMs?: number): Promise<SystemLinks[]> {
  return readListings(endpoints, '/api/links', 'links', timeoutMs);
}

/**
 * The pairs a command means: `wanted` (an id or a unique prefix of one), every pair with `all`, or the
 * only pair when there is one. Throws naming the choice when it is not clear.
 */
export function choosePairs(systems: readonly SystemLinks[], wanted: string | undefined, all: boolean): string[] {
  const known = [...new Set(systems.flatMap((s) => (s.links ?? []).map((l) => l.pairId)))].sort();
  const reachable = systems.filter((s) => s.links !== undefined);
  if (reachable.length === 0) throw new Error(`no system answered: ${systems.map((s) => s.error).join('; ')}`);
  if (all) {
    if (known.length === 0) throw new Error('no mirror pairs');
    return known;
  }
  if (wanted === undefined) {
    if (known.length === 1) return known;
    throw new Error(known.length === 0 ? 'no mirror pairs' : `name the pair (or --all): ${known.join(', ')}`);
  }
  const matches = known.filter((id) => id === wanted || id.startsWith(wanted));
  if (matches.length === 1) return matches;
  if (known.includes(wanted)) return [wanted];
  throw new Error(matches.length === 0 ? `no mirror pair ${wanted} (known: ${known.join(', ') || 'none'})` : `${wanted} matches ${matches.join(', ')}: give more of the id`);
}

export interface LinkChangeOutcome {
  readonly pairId: string;
  /** Systems that applied the change, with the link as each now has it. */
  readonly applied: ReadonlyArray<{ readonly system: string; readonly description: string }>;
  /** Systems of the pair that did not take it, with why. */
  readonly missed: ReadonlyArray<{ readonly system: string; readonly error: string }>;
}

/** Applies `change` ('clear': every condition off) to each pair on every system that knows it. */
export async function changeLinks(systems: readonly SystemLinks[], pairIds: readonly string[], change: LinkChange | 'clear', token?: string): Promise<LinkChangeOutcome[]> {
  const outcomes: LinkChangeOutcome[] = [];
  for (const pairId of pairIds) {
    const applied: Array<{ system: string; description: string }> = [];
    const missed: Array<{ system: string; error: string }> = [];
    for (const system of systems) {
      const name = system.system ?? system.endpoint.name;
      if (system.links === undefined) { missed.push({ system: name, error: system.error ?? 'not answering' }); continue; }
      if (!system.links.some((l) => l.pairId === pairId)) continue;
      const path = `/api/links/${encodeURIComponent(pairId)}`;
      try {
        const answer = change === 'clear'
          ? await requestJson<{ description: string }>(system.endpoint, 'DELETE', path, undefined, token)
          : await requestJson<{ description: string }>(system.endpoint, 'POST', path, change, token);
        applied.push({ system: name, description: answer.description });
      } catch (error) {
        missed.push({ system: name, error: (error as Error).message });
      }
    }
    outcomes.push({ pairId, applied, missed });
  }
  return outcomes;
}

export function outcomeLines(outcomes: readonly LinkChangeOutcome[]): string[] {
  return outcomes.flatMap((o) => [
    `${o.pairId}: link ${o.applied[0]?.description ?? 'unchanged'}${o.applied.length > 0 ? ` (set on ${o.applied.map((a) => a.system).join(', ')})` : ''}`,
    ...o.missed.map((m) => `  not set on ${m.system}: ${m.error} (a system keeps its own saved link conditions when it comes back)`),
  ]);
}

export function listingLines(systems: readonly SystemLinks[]): string[] {
  const lines: string[] = [];
  for (const system of systems) {
    const name = system.system ?? system.endpoint.name;
    if (system.links === undefined) { lines.push(`${name}: ${system.error ?? 'not answering'}`); continue; }
    if (system.links.length === 0) lines.push(`${name}: no mirror pairs`);
    for (const link of system.links) {
      const c = link.counters;
      lines.push(`${name}: ${link.pairId} (${link.role}, ${link.phase})  link ${link.description}  refused ${c.refused}  lost ${c.lost}  retransmitted ${c.retransmitted}  carried ${(c.bytes / 1e6).toFixed(1)} MB`);
    }
  }
  return lines;
}
