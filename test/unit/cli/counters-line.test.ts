import t from 'tap';
import { countersLine, parseCountersLine, type CountersReport } from '../../../src/cli/counters-line.ts';

const report: CountersReport = {
  system: 'sim',
  targets: [{ iqn: 'iqn.2026-11.org.example:a', copyOperations: { count: 3, bytes: 3 * 1024 * 1024 } }],
};

t.test('round trip', async (t) => {
  const line = countersLine(report);
  t.match(line, /^iscsi-sim counters: \{/);
  t.same(parseCountersLine(`noise ${line}`), report);
  t.equal(parseCountersLine('iscsi-sim ready: {}'), undefined);
  t.equal(parseCountersLine('iscsi-sim counters: {broken'), undefined);
});
