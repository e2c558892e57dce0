/** scripts/tap-summary.js: the `N passed, N failed` line that ends scripts/test.sh (and CI). */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'scripts', 'tap-summary.js');

function summarize(tap: string, env: Record<string, string> = {}): { lines: string[]; status: number | null } {
  const result = spawnSync(process.execPath, [script], { input: tap, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { lines: result.stdout.trimEnd().split('\n'), status: result.status };
}

const STREAM = `TAP version 14
1..3
# Subtest: a.test.ts
    # Subtest: group
        ok 1 - one
        not ok 2 - two
        1..2
    not ok 1 - group
    ok 2 - skipped thing # SKIP no binary
    # conformance: 1 passed
    1..2
not ok 1 - a.test.ts
# Subtest: b.test.ts
    1..0 # no tests found
not ok 2 - b.test.ts
# Subtest: c.test.ts
    ok 1 - fine
    1..1
ok 3 - c.test.ts
`;

t.test('counts leaf points, crashed files, skips; ends with the line', async (t) => {
  const { lines, status } = summarize(STREAM);
  t.equal(lines.at(-1), '2 passed, 2 failed');
  t.equal(lines.at(-2), '1 skipped');
  t.ok(lines.includes('not ok: a.test.ts > group > two'));
  t.ok(lines.includes('not ok: b.test.ts'));
  t.ok(lines.includes('  # conformance: 1 passed'), 'test comments are shown');
  t.ok(lines.includes('ok     c.test.ts'));
  t.equal(status, 1);
});

t.test('adds the type check and lint results', async (t) => {
  const ok = 'TAP version 14\n1..1\n# Subtest: c\n    ok 1 - fine\n    1..1\nok 1 - c\n';
  t.equal(summarize(ok, { TAP_SUMMARY_EXTRA_PASSED: '2' }).lines.at(-1), '3 passed, 0 failed');
  t.equal(summarize(ok).status, 0);
  const withLintFailure = summarize(ok, { TAP_SUMMARY_EXTRA_PASSED: '1', TAP_SUMMARY_EXTRA_FAILED: '1' });
  t.equal(withLintFailure.lines.at(-1), '2 passed, 1 failed');
  t.equal(withLintFailure.status, 1);
});

t.test('no results at all is a failure', async (t) => {
  const { lines, status } = summarize('');
  t.equal(lines.at(-1), '0 passed, 1 failed');
  t.equal(status, 1);
});
