import t from 'tap';
import { isLoopbackAddress, startupExposureWarnings } from '../../../src/config/exposure.ts';
import { validateConfig } from '../../../src/config/validate.ts';

t.test('loopback addresses', async (t) => {
  for (const address of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) t.ok(isLoopbackAddress(address), address);
  for (const address of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'fe80::1', 'example.org', '::ffff:10.0.0.1']) t.notOk(isLoopbackAddress(address), address);
});

t.test('serve warns at start about each surface opened without authentication on purpose', async (t) => {
  const base = { name: 's', portals: ['127.0.0.1:0'], targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ size: '1M' }] }] };
  const context = { baseDir: '/w', cwd: '/w' };
  t.same(startupExposureWarnings(validateConfig({ ...base, cim: {}, metrics: '127.0.0.1:0' }, context)), [], 'loopback: no warning');
  const open = validateConfig({ ...base, cim: { address: '0.0.0.0', allowUnauthenticated: true }, metrics: { address: '::', allowUnauthenticated: true } }, context);
  const warnings = startupExposureWarnings(open);
  t.equal(warnings.length, 2);
  t.match(warnings[0], /^CIM-XML is served on 0\.0\.0\.0 without authentication \(cim\.allowUnauthenticated: true\)/);
  t.match(warnings[1], /^Prometheus \/metrics is served on :: without authentication \(metrics\.allowUnauthenticated: true\)/);
  t.same(startupExposureWarnings(validateConfig({ ...base, cim: { address: '0.0.0.0', user: 'a', password: 'b', https: true } }, context)), [], 'basic auth (over HTTPS): no warning');
});
