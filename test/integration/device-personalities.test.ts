/**
 * Device personalities (issue 11) against libiscsi's conformance suite (Debian's iscsi-test-cu): one
 * real `iscsi-sim serve` per fixtures/personality-*.yaml, each running the families its feature
 * exists for. Nothing of those families may be skipped; the only failures allowed are the libiscsi
 * errors the README's "Device personalities" section shows from libiscsi's source.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runConformance } from './support/conformance.ts';
import { repoRoot, startSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';

interface Personality {
  readonly fixture: string;
  /** iscsi-test-cu -t: the families the configuration exists for. */
  readonly filter: string;
  readonly extraArgs?: readonly string[];
  readonly tests: number;
  /** Failures that are libiscsi's (README "Device personalities"), each with where it is shown. */
  readonly libiscsiErrors?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

const PERSONALITIES: readonly Personality[] = [
  {
    fixture: 'personality-removable.yaml',
    filter: 'ALL.PreventAllow,ALL.StartStopUnit',
    tests: 11,
    libiscsiErrors: { 'StartStopUnit.PwrCnd': 'expects GOOD for the reserved POWER CONDITION values 4h-6h, 8h-9h, Ch-Fh (test_startstopunit_pwrcnd.c)' },
    timeoutMs: 120_000,
  },
  {
    fixture: 'personality-512e.yaml',
    filter: 'ALL.CompareAndWrite,ALL.WriteSame10,ALL.WriteSame16,ALL.GetLBAStatus',
    tests: 0,
    libiscsiErrors: { 'GetLBAStatus.UnmapSingle': 'queries LBA i+1 but expects the descriptor of i+LBPPB (test_get_lba_status_unmap_single.c)' },
    timeoutMs: 180_000,
  },
  // Each SANITIZE lasts 6 s; Sanitize.Reset waits for one with sleep(60): about 100 s.
  { fixture: 'personality-sanitize.yaml', filter: 'ALL.Sanitize', extraArgs: ['-S'], tests: 11, timeoutMs: 300_000 },
  { fixture: 'personality-write-protected.yaml', filter: 'ALL.ReadOnly', tests: 1, timeoutMs: 60_000 },
];

/** The fixture as a config document, on a free loopback port (its files in the test's temp dir). */
function fixtureConfig(file: string): Record<string, unknown> {
  const document = parse(readFileSync(join(repoRoot, 'fixtures', file), 'utf8')) as Record<string, unknown>;
  return { ...document, portals: ['127.0.0.1:0'] };
}

for (const personality of PERSONALITIES) {
  t.test(`${personality.fixture}: iscsi-test-cu ${[...(personality.extraArgs ?? []), '-t'].join(' ')} ${personality.filter}`, { skip: missingTools({ 'iscsi-test-cu': 'libiscsi-bin' }) }, async (t) => {
    const system = await startSystem({ config: fixtureConfig(personality.fixture) });
    t.teardown(() => system.stop());
    const started = Date.now();
    const result = await runConformance(system.url(), personality.filter, personality.timeoutMs, undefined, personality.extraArgs);
    const names = (state: string): string[] => result.tests.filter((test) => test.result === state).map((test) => test.name);
    t.comment(`${personality.fixture}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped (${Math.round((Date.now() - started) / 1000)} s)`);
    t.notOk(result.timedOut, 'suite finished within its time limit');
    if (personality.tests > 0) t.equal(result.tests.length, personality.tests, `${personality.tests} tests ran`);
    else t.ok(result.tests.length > 20, `${result.tests.length} tests ran`);
    t.same(names('skip'), [], 'nothing skipped: the configuration offers what these tests need');
    t.same(names('fail').sort(), Object.keys(personality.libiscsiErrors ?? {}).sort(), 'no failure but the libiscsi errors the README shows', { libiscsiErrors: personality.libiscsiErrors });
    t.ok(system.alive(), 'target survived the suite');
  });
}

t.test('personality-removable.yaml: INQUIRY shows the configured vendor strings and RMB', { skip: missingTools({ 'iscsi-inq': 'libiscsi-bin' }) }, async (t) => {
  const system = await startSystem({ config: fixtureConfig('personality-removable.yaml') });
  t.teardown(() => system.stop());
  const inquiry = await run('iscsi-inq', [system.url()]);
  t.equal(inquiry.code, 0);
  t.match(inquiry.stdout, /Removable:1/);
  t.match(inquiry.stdout, /Vendor:ACME/);
  t.match(inquiry.stdout, /Product:RDX Cartridge/);
  t.match(inquiry.stdout, /Revision:2\.1/);
});
