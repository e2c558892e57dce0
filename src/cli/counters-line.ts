/**
 * Target counters as one stdout line, `iscsi-sim counters: {JSON}`, which `serve` prints when it gets
 * SIGUSR2 and once more when it stops (scripts and tests read it like the ready line).
 */
import type { TargetCountersSnapshot } from '../system/system.ts';

export const COUNTERS_PREFIX = 'iscsi-sim counters: ';

export interface CountersReport {
  readonly system: string;
  readonly targets: readonly TargetCountersSnapshot[];
}

export function countersLine(report: CountersReport): string {
  return `${COUNTERS_PREFIX}${JSON.stringify(report)}`;
}

/** Parses a counters line back; undefined for any other line. */
export function parseCountersLine(line: string): CountersReport | undefined {
  const at = line.indexOf(COUNTERS_PREFIX);
  if (at < 0) return undefined;
  try {
    return JSON.parse(line.slice(at + COUNTERS_PREFIX.length)) as CountersReport;
  } catch {
    return undefined;
  }
}
