import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { parseScenario } from '../../../../src/cli/scenario/scenario-file.ts';
import { repoRoot } from '../../replication/helpers.ts';

const bad = (yaml: string) => () => parseScenario(yaml, 'x.yaml');

t.test('the shipped scenarios are valid', async (t) => {
  const dir = join(repoRoot, 'fixtures', 'scenarios');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 3, files.join(', '));
  for (const file of files) {
    const scenario = parseScenario(await readFile(join(dir, file), 'utf8'), file);
    t.equal(`${scenario.name}.yaml`, file, `${file} names itself`);
  }
});

t.test('a timeline: at in seconds, link with for, expectations with bounds', async (t) => {
  const scenario = parseScenario(`
name: s
steps:
  - at: 10s
    link: { partition: true, for: 30s }
  - at: 20s
    fault: { system: primary, rule: { action: check-condition, sense: unrecovered-read-error, lba: "100-109" } }
  - read: { system: primary, offset: 51200, size: 4K, expect: 03/11/00 }
  - expect: { converged: true, within: 2m }
  - expect: { rpoBelow: 5s, during: 10s }
`, 'x.yaml');
  t.same(scenario.steps.map((s) => [s.number, s.atMs, s.action.kind]), [[1, 10_000, 'link'], [2, 20_000, 'fault'], [3, undefined, 'read'], [4, undefined, 'expect-converged'], [5, undefined, 'expect-rpo-below']]);
  t.match(scenario.steps[0]!.action, { change: { partitioned: true }, forMs: 30_000 });
  t.match(scenario.steps[2]!.action, { expect: { kind: 'sense', key: 3, asc: 0x11, ascq: 0 } });
  t.match(scenario.steps[3]!.action, { withinMs: 120_000 });
  t.equal(scenario.lab.size, '64M', 'default lab size');
});

t.test('errors name the field', async (t) => {
  t.throws(bad('steps: []\nname: s'), /^steps: must be a list of at least one step/);
  t.throws(bad('name: s\nsteps:\n  - link: { rate: fast }'), /^steps\[0\]\.link\.rate: "fast" is not a rate/);
  t.throws(bad('name: s\nsteps:\n  - link: { rate: 0MB/s }'), /^steps\[0\]\.link\.rate: a rate of 0 carries nothing/);
  t.throws(bad('name: s\nsteps:\n  - link: { partition: true, heal: true }'), /^steps\[0\]\.link\.heal: give partition or heal/);
  t.throws(bad('name: s\nsteps:\n  - write: { system: primary, size: 4M }\n    sleep: 1s'), /^steps\[0\]: has write and sleep: one action per step/);
  t.throws(bad('name: s\nsteps:\n  - {}'), /^steps\[0\]: needs one action/);
  t.throws(bad('name: s\nsteps:\n  - expect: { phase: sideways }'), /^steps\[0\]\.expect\.phase: "sideways" is not a pair phase/);
  t.throws(bad('name: s\nsteps:\n  - expect: { converged: true, within: soon }'), /^steps\[0\]\.expect\.within: "soon" is not a duration/);
  t.throws(bad('name: s\nsteps:\n  - site: { down: moon }'), /^steps\[0\]\.site\.down: "moon" is not a part of the lab \(redis, primary, peer\)/);
  t.throws(bad('name: s\nsteps:\n  - pair: { op: explode }'), /^steps\[0\]\.pair\.op: "explode" is not a pair operation/);
  t.throws(bad('name: s\nsteps:\n  - write: { system: primary, size: 100 }'), /^steps\[0\]\.write\.size: must be a multiple of 512 bytes/);
  t.throws(bad('name: s\nsteps:\n  - read: { system: primary, size: 4K, expect: broken }'), /^steps\[0\]\.read\.expect: "broken" is not ok, error, a sense key/);
  t.throws(bad('name: s\nsteps:\n  - at: 10s\n    sleep: 1s\n  - at: 5s\n    sleep: 1s'), /^steps\[1\]\.at: 5 s is before an earlier step's at \(10 s\)/);
  t.throws(bad('name: s\nsteps:\n  - sleep: 1s\n    colour: red'), /^steps\[0\]\.colour: unknown field/);
  t.throws(bad('name: s\nsteps:\n  - expect: { rpoBelow: 5s, within: 3s }'), /^steps\[0\]\.expect\.within: rpoBelow holds during/);
  t.throws(bad('name: [\n'), /x\.yaml is not valid YAML/);
});
