// Reads tap's raw TAP stream (stdin), prints one line per test file, every failing test point with
// its location, and test comments (e.g. conformance figures); saves nothing. The last line is
// `N passed, N failed`, counting leaf test points: assertions, plus a subtest or file that produced
// no assertions of its own (a crashed file counts as one failure). Skipped and todo points are
// reported on the line before. Exit code 1 when anything failed or no test ran.
import { Parser } from 'tap-parser';

const counts = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const extra = Number(process.env.TAP_SUMMARY_EXTRA_FAILED ?? 0);
const extraPassed = Number(process.env.TAP_SUMMARY_EXTRA_PASSED ?? 0);

function location(diag) {
  const at = diag?.at;
  return at?.fileName ? ` (${at.fileName}:${at.lineNumber})` : '';
}

function attach(parser, path) {
  let childAsserts = null;
  parser.on('child', (child) => {
    const counter = { n: 0 };
    childAsserts = counter;
    child.on('assert', () => counter.n++);
    attach(child, [...path, child.name ?? '']);
  });
  parser.on('comment', (text) => {
    const line = text.replace(/^\s*#\s?/, '').trimEnd();
    if (line === '' || /^(time=|Subtest: |No coverage|\{ total)/.test(line)) return;
    console.log(`  # ${line}`);
  });
  parser.on('assert', (result) => {
    const closesChild = childAsserts !== null;
    const childCount = childAsserts?.n ?? 0;
    childAsserts = null;
    if (path.length === 0) console.log(`${result.ok ? 'ok    ' : 'FAILED'} ${result.name}${result.skip ? ` # SKIP ${result.skip === true ? '' : result.skip}` : ''}`);
    if (closesChild && childCount > 0) return;
    if (result.skip || result.todo) {
      counts.skipped++;
      if (path.length > 0) console.log(`  skipped: ${[...path.slice(1), result.name].join(' > ')}${typeof result.skip === 'string' ? ` (${result.skip})` : ''}`);
    } else if (result.ok) {
      counts.passed++;
    } else {
      counts.failed++;
      failures.push(`${[...path, result.name].join(' > ')}${location(result.diag)}`);
    }
  });
}

const root = new Parser();
attach(root, []);
root.on('complete', () => {
  if (counts.passed + counts.failed + counts.skipped === 0) {
    counts.failed++;
    failures.push('no test results at all (tap produced no TAP; see .tap/test-stderr.log)');
  }
  for (const failure of failures) console.log(`not ok: ${failure}`);
  if (counts.skipped > 0) console.log(`${counts.skipped} skipped`);
  const started = Number(process.env.TAP_SUMMARY_STARTED ?? 0);
  if (started > 0) console.log(`took ${Math.round(Date.now() / 1000 - started)} s`);
  const failed = counts.failed + extra;
  console.log(`${counts.passed + extraPassed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || counts.passed === 0 ? 1 : 0;
});
process.stdin.pipe(root);
