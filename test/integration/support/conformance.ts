/**
 * Runs libiscsi's conformance suite (iscsi-test-cu, Debian libiscsi-bin) against one LUN and turns
 * its CUnit output into one result per test. A test fails when CUnit's own verdict is FAILED; a test
 * that printed `[SKIPPED]` while passing counts as skipped (CUnit counts it as passed).
 *
 * Like the team's yardstick (../shared/tools/iscsi-conformance), a `[FAILED]` log line is not a verdict:
 * tests that deliberately provoke errors through helpers expecting GOOD log them while passing —
 * iSCSIdatasn.iSCSIDataSnInvalid sends corrupted DataSNs with write10(..., EXPECT_STATUS_GOOD) and
 * asserts the call did NOT succeed, so every target that rejects the bad data (the test's pass
 * condition) logs `[FAILED]` lines, tgtd included. Such tests are reported as `loggedFailures`.
 */
import { spawn } from 'node:child_process';

export type ConformanceResult = 'pass' | 'fail' | 'skip';

export interface ConformanceTest {
  /** Suite.Test, e.g. Read10.BeyondEol. */
  readonly name: string;
  readonly result: ConformanceResult;
  /** The test printed a `[FAILED]` log line (the yardstick's rule) although CUnit passed it. */
  readonly loggedFailure: boolean;
}

export interface ConformanceRun {
  readonly tests: readonly ConformanceTest[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Names of tests CUnit passed that logged `[FAILED]` lines (failures by the yardstick's rule). */
  readonly loggedFailures: readonly string[];
  readonly output: string;
  readonly timedOut: boolean;
}

/** Parses `iscsi-test-cu -v` output. */
export function parseConformanceOutput(output: string): ConformanceTest[] {
  const tests: ConformanceTest[] = [];
  let suite = '';
  let current: { name: string; result: ConformanceResult; loggedFailure: boolean } | undefined;
  const finish = (): void => {
    if (current !== undefined) tests.push({ ...current, loggedFailure: current.loggedFailure && current.result !== 'fail' });
    current = undefined;
  };
  for (const rawLine of output.split('\n')) {
    let line = rawLine;
    const suiteMatch = /^Suite: (\S+)/.exec(line);
    if (suiteMatch !== null) {
      suite = suiteMatch[1];
      continue;
    }
    const testMatch = /^ {2}Test: (\S+) \.\.\.(.*)$/.exec(line);
    if (testMatch !== null) {
      finish();
      current = { name: `${suite}.${testMatch[1]}`, result: 'pass', loggedFailure: false };
      line = testMatch[2];
    }
    if (/^Run Summary:/.test(line)) {
      finish();
      continue;
    }
    if (current === undefined) continue;
    if (line.includes('[SKIPPED]') && current.result === 'pass') current.result = 'skip';
    if (line.includes('[FAILED]')) current.loggedFailure = true;
    // CUnit's verdict for the test: `passed`, or `FAILED` followed by the failed assertions.
    if (/^\s*FAILED\b/.test(line)) current.result = 'fail';
  }
  finish();
  return tests;
}

export function conformanceAvailable(): Promise<boolean> {
  return new Promise((done) => {
    const probe = spawn('iscsi-test-cu', ['--help'], { stdio: 'ignore' });
    probe.once('error', () => done(false));
    probe.once('exit', () => done(true));
  });
}

/**
 * `iscsi-test-cu -d -v [EXTRA-ARGS] -t FILTER URL [MULTIPATH-URL]`, killed after `timeoutMs`. The second
 * URL (another portal to the same LUN) enables the MultipathIO tests; `-S` (--allow-sanitize) the
 * Sanitize family.
 */
export function runConformance(url: string, filter = 'ALL', timeoutMs = 480_000, multipathUrl?: string, extraArgs: readonly string[] = []): Promise<ConformanceRun> {
  return new Promise((done, fail) => {
    const urls = multipathUrl === undefined ? [url] : [url, multipathUrl];
    const child = spawn('iscsi-test-cu', ['-d', '-v', ...extraArgs, '-t', filter, ...urls], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once('close', () => {
      clearTimeout(timer);
      const tests = parseConformanceOutput(output);
      const count = (result: ConformanceResult): number => tests.filter((test) => test.result === result).length;
      const loggedFailures = tests.filter((test) => test.loggedFailure).map((test) => test.name);
      done({ tests, passed: count('pass'), failed: count('fail'), skipped: count('skip'), loggedFailures, output, timedOut });
    });
  });
}
