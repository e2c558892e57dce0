/**
 * Fault rules as the systems' HTTP APIs list them (GET /api/faults, src/app/fault-api.ts), read from
 * several systems and printed one line a rule: used by `iscsi-sim fault list` and `iscsi-sim status`.
 */
import { readListings, type SystemEndpoint, type SystemListing } from './system-http.ts';

/** One rule as GET /api/faults lists it (the JSON rule plus id, LUN and counters). */
export interface FaultRuleView {
  readonly id: string;
  readonly target: string;
  readonly lun: number;
  readonly action: string;
  readonly seen: number;
  readonly fired: number;
  readonly [field: string]: unknown;
}

export type SystemFaults = SystemListing<'rules', FaultRuleView>;

export function readFaults(endpoints: readonly SystemEndpoint[], timeoutMs?: number): Promise<SystemFaults[]> {
  return readListings(endpoints, '/api/faults', 'rules', timeoutMs);
}

const SHOWN_ELSEWHERE = new Set(['id', 'target', 'lun', 'action', 'seen', 'fired', 'addedAt', 'senseCodes']);

/** `f1  iqn...:disk/0  check-condition sense=unrecovered-read-error op=read lba=1000-1009  fired 3 of 5 seen` */
export function faultRuleLine(rule: FaultRuleView): string {
  const details = Object.entries(rule)
    .filter(([key, value]) => !SHOWN_ELSEWHERE.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`);
  return `${rule.id.padEnd(4)} ${`${rule.target}/${rule.lun}`}  ${[rule.action, ...details].join(' ')}  fired ${rule.fired} of ${rule.seen} matching`;
}

/** Lines per system: its rules, `no fault rules`, or why it could not be read. */
export function faultLines(systems: readonly SystemFaults[]): string[] {
  return systems.flatMap((entry) => {
    const name = entry.system ?? entry.endpoint.name;
    if (entry.error !== undefined) return [`${name}: ${entry.error}`];
    const rules = entry.rules ?? [];
    if (rules.length === 0) return [`${name}: no fault rules`];
    return [`${name}:`, ...rules.map((rule) => `  ${faultRuleLine(rule)}`)];
  });
}
