import t from 'tap';
import { parseReadyLine, readyLine, readySummaryText } from '../../../src/system/ready-line.ts';
import type { SystemSummary } from '../../../src/system/system.ts';

const summary: SystemSummary = {
  name: 'sim',
  stateDir: '/s',
  portals: [{ address: '127.0.0.1', port: 3260, portalGroupTag: 1 }, { address: '::1', port: 3260, portalGroupTag: 2 }],
  targets: [{ iqn: 'iqn.2026-11.org.example:a', portalGroupTags: [1, 2], luns: [{ lun: 0, backstore: 'file', file: '/s/a.img', sizeBytes: 1024 ** 3, blockSize: 512, naa: '3000000000000001', serial: 'S' }] }],
  cimUrl: 'http://127.0.0.1:5988',
};

t.test('round trip and human text', async (t) => {
  const line = readyLine(summary);
  t.match(line, /^iscsi-sim ready: \{/);
  t.same(parseReadyLine(`noise ${line}`), summary);
  t.equal(parseReadyLine('something else'), undefined);
  t.equal(parseReadyLine('iscsi-sim ready: {broken'), undefined);
  t.equal(readySummaryText(summary), 'system sim ready: portals 127.0.0.1:3260,1 [::1]:3260,2 targets iqn.2026-11.org.example:a [LUN 0 1G] cim http://127.0.0.1:5988');
});
