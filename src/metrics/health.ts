/**
 * /healthz: a list of named checks, each ok or saying what is not ready. Ready when every check is.
 */

export interface HealthResult {
  readonly ok: boolean;
  /** What is wrong (or a short state when ok). */
  readonly detail?: string;
}

export interface HealthCheck {
  readonly name: string;
  check(): HealthResult;
}

export interface HealthReport {
  readonly ready: boolean;
  readonly system: string;
  readonly checks: Readonly<Record<string, HealthResult>>;
  /** "name: detail" of every failing check. */
  readonly notReady: readonly string[];
}

export function healthReport(system: string, checks: readonly HealthCheck[]): HealthReport {
  const results: Record<string, HealthResult> = {};
  const notReady: string[] = [];
  for (const { name, check } of checks) {
    let result: HealthResult;
    try {
      result = check();
    } catch (error) {
      result = { ok: false, detail: `check failed: ${(error as Error).message}` };
    }
    results[name] = result;
    if (!result.ok) notReady.push(`${name}: ${result.detail ?? 'not ready'}`);
  }
  return { ready: notReady.length === 0, system, checks: results, notReady };
}
