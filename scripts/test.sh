#!/usr/bin/env bash
# THE test command (README, .ci/run): set-up, type check, lint, then every test file under test/unit
# and test/integration through tap. The output ends with exactly one line `N passed, N failed`,
# counting leaf test points (see scripts/tap-summary.js); the type check, lint, layer rule
# (.dependency-cruiser.cjs, docs/architecture.md) and test layout (scripts/check-test-mirror.js:
# test/unit mirrors src/) count as one point each. Raw TAP and test stderr are kept in .tap/ for
# inspection.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p .tap
export CI="${CI:-}"

checks_passed=0
checks_failed=0
run_check() {
  local name=$1; shift
  if "$@" >".tap/$name.log" 2>&1; then
    echo "ok     $name"
    checks_passed=$((checks_passed + 1))
  else
    echo "FAILED $name"
    grep -v 'npm warn' ".tap/$name.log" | tail -40
    checks_failed=$((checks_failed + 1))
  fi
}
run_check typecheck npx --no-install tsc --noEmit -p .
run_check lint npx --no-install eslint .
run_check layers npx --no-install depcruise src --config .dependency-cruiser.cjs --output-type err
run_check test-layout node scripts/check-test-mirror.js

# The benchmarks run too (CI tracks the hot path over time) but only print figures: timing never
# decides a test. BENCH=0 skips them.
if [ "${BENCH:-1}" != 0 ]; then
  echo "# benchmarks (figures only; ratios against tgtd come from the same run)"
  timeout 120 npx --no-install tsx bench/micro-pdu.ts 2>&1 | grep -v 'npm warn' | sed 's/^/#   /' || echo "#   micro-pdu did not run"
  ROUNDS="${BENCH_ROUNDS:-1}" SCALE="${BENCH_SCALE:-0.1}" timeout 300 bash bench/run.sh 2>&1 | sed 's/^/#   /' || echo "#   bench/run.sh did not run"
fi

mapfile -t files < <(find test/unit test/integration -name '*.test.ts' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files found"
  echo "$checks_passed passed, $((checks_failed + 1)) failed"
  exit 1
fi

# Two jobs: the integration tests start real targets, initiators and QEMU on a small machine.
npx --no-install tap --reporter=tap --disable-coverage --allow-incomplete-coverage --jobs="${TEST_JOBS:-2}" "${files[@]}" \
  2>.tap/test-stderr.log | tee .tap/report.tap \
  | TAP_SUMMARY_EXTRA_PASSED=$checks_passed TAP_SUMMARY_EXTRA_FAILED=$checks_failed TAP_SUMMARY_STARTED=$started \
    node scripts/tap-summary.js
status=("${PIPESTATUS[@]}")
[ "${status[0]}" = 0 ] && [ "${status[2]}" = 0 ]
