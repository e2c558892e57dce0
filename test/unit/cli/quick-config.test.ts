import t from 'tap';
import { defaultIqn, parseLunSpec, quickConfig } from '../../../src/cli/quick-config.ts';

const sizes: Record<string, number> = { '/data/old.img': 8192 };
const probe = (path: string): number | undefined => sizes[path];

t.test('default IQN from the host name', async (t) => {
  t.equal(defaultIqn('Build_Box.Example'), 'iqn.2026-11.org.iscsi-sim:build-box.example');
});

t.test('LUN specs', async (t) => {
  t.same(parseLunSpec('disk.img:10T', '/w'), { file: '/w/disk.img', size: '10T' });
  t.same(parseLunSpec('/a:b/disk.img', '/w'), { file: '/a:b/disk.img' });
  t.same(parseLunSpec('disk.img', '/w'), { file: '/w/disk.img' });
  t.same(parseLunSpec('q2.img:12Q', '/w', probe), { file: '/w/q2.img', size: '12Q' }, 'a size-like suffix stays a size, to be rejected');
  t.same(parseLunSpec('/data/a:1x', '/w', (p) => (p === '/data/a:1x' ? 512 : undefined)), { file: '/data/a:1x' }, 'unless FILE:SUFFIX exists');
});

t.test('one portal, one target, LUNs in order, default sizes', async (t) => {
  const config = quickConfig({ listen: '127.0.0.1:13280', luns: ['a.img:64M', 'new.img', '/data/old.img'], iqn: 'iqn.2026-11.org.example:q', name: 'q', stateDir: 'st' }, '/w', probe);
  t.same(config.portals, [{ address: '127.0.0.1', port: 13280, portalGroupTag: 1 }]);
  t.equal(config.stateDir, '/w/st');
  t.equal(config.targets.length, 1);
  t.same(config.targets[0].luns.map((l) => [l.lun, l.file, l.sizeBytes]), [[0, '/w/a.img', 64 * 1024 * 1024], [1, '/w/new.img', 1024 ** 3], [2, '/data/old.img', 8192]]);
  t.equal(config.cim.enabled, false);
});

t.test('IPv6 listen and CIM', async (t) => {
  const config = quickConfig({ listen: '[::1]:0', luns: ['x.img:1M'], cim: '127.0.0.1:0' }, '/w', probe);
  t.equal(config.portals[0].address, '::1');
  t.same(config.cim, { enabled: true, address: '127.0.0.1', port: 0 });
  t.match(config.targets[0].iqn, /^iqn\.2026-11\.org\.iscsi-sim:/);
  t.same(quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'], cim: '' }, '/w', probe).cim, { enabled: true, address: '127.0.0.1', port: 5988 });
  t.same(quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'], cimHttps: true }, '/w', probe).cim, { enabled: true, address: '127.0.0.1', port: 5989, https: {} }, '--cim-https: HTTPS on 5989');
  t.same(quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'], cim: '127.0.0.1:0', cimHttps: true }, '/w', probe).cim, { enabled: true, address: '127.0.0.1', port: 0, https: {} });
});

t.test('errors name the flag', async (t) => {
  t.throws(() => quickConfig({ listen: 'nope nope', luns: ['x:1M'] }, '/w', probe), /^--listen: /);
  t.throws(() => quickConfig({ listen: '127.0.0.1:1', luns: [] }, '/w', probe), /^--lun: at least one/);
  t.throws(() => quickConfig({ listen: '127.0.0.1:1', luns: ['a:1M', 'b:1000'] }, '/w', probe), /^--lun #2: 1000 is not a positive multiple/);
  // Issue 12: the quick form used to create a 1 GiB file named `q2.img:12Q`.
  t.throws(() => quickConfig({ listen: '127.0.0.1:1', luns: ['q2.img:12Q'] }, '/w', probe), /^--lun #1: "12Q" is not a size \(use 512, 64K, 1G, 10T\)$/);
  t.throws(() => quickConfig({ listen: '127.0.0.1:1', luns: ['a:1M'], iqn: 'bad' }, '/w', probe), /^--iqn: "bad" is not an iSCSI name/);
  t.throws(() => quickConfig({ listen: '127.0.0.1:1', luns: ['a:1M'], name: 'bad name' }, '/w', probe), /^--name: /);
});

t.test('--lun memory:SIZE is a memory LUN; ./memory is a file', async (t) => {
  const config = quickConfig({ listen: '127.0.0.1:0', luns: ['memory:256M', 'memory', './memory:1M', 'f.img:1M'], createParents: true }, '/w', probe);
  t.same(config.targets[0].luns.map((l) => [l.backstore, l.file, l.sizeBytes, l.createParents]), [
    ['memory', undefined, 256 * 1024 * 1024, undefined],
    ['memory', undefined, 1024 ** 3, undefined],
    ['file', '/w/memory', 1024 * 1024, true],
    ['file', '/w/f.img', 1024 * 1024, true],
  ]);
  t.throws(() => quickConfig({ listen: '127.0.0.1:1', luns: ['memory:12Q'] }, '/w', probe), /^--lun #1: "12Q" is not a size/);
});

t.test('--metrics: the HTTP server (default 127.0.0.1:9464); a public bind is refused naming the flag', async (t) => {
  t.equal(quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'] }, '/w', probe).metrics, undefined, 'off by default');
  t.same(quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'], metrics: '' }, '/w', probe).metrics, { address: '127.0.0.1', port: 9464 });
  t.same(quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'], metrics: '[::1]:0' }, '/w', probe).metrics, { address: '::1', port: 0 });
  t.throws(() => quickConfig({ listen: '127.0.0.1:0', luns: ['x.img:1M'], metrics: '0.0.0.0:9464' }, '/w', probe), /^--metrics: /);
});
