import t from 'tap';
import { validateConfig } from '../../../src/config/validate.ts';

const context = { baseDir: '/etc/sim', cwd: '/work' };

function withLun(lun: Record<string, unknown>, root: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'sim1', portals: ['127.0.0.1:3260'], targets: [{ iqn: 'iqn.2026-11.org.iscsi-sim:sim1.t0', luns: [{ size: '64M', ...lun }] }], ...root };
}

t.test('a LUN personality: INQUIRY strings, removable, 512e, sanitize', async (t) => {
  const config = validateConfig(withLun({ vendor: 'ACME', product: 'RDX Cartridge', revision: '2.1', removable: true, physicalBlockSize: 4096, sanitize: { seconds: 6 } }), context);
  t.same(config.targets[0].luns[0].personality, { vendor: 'ACME', product: 'RDX Cartridge', revision: '2.1', removable: true, physicalBlockExponent: 3, sanitize: { seconds: 6 } });
  t.same(validateConfig(withLun({ sanitize: true }), context).targets[0].luns[0].personality, { sanitize: { seconds: 0 } });
  t.equal(validateConfig(withLun({ physicalBlockSize: 512 }), context).targets[0].luns[0].personality, undefined, 'physical = logical: no personality');
  t.equal(validateConfig(withLun({}), context).targets[0].luns[0].personality, undefined, 'none by default');
});

t.test('bad personality fields are named', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ vendor: 'TOOLONGVENDOR' }, /targets\[0\]\.luns\[0\]\.vendor: "TOOLONGVENDOR" is 13 characters; INQUIRY has room for 8/],
    [{ product: 'é' }, /luns\[0\]\.product: "é" must be printable ASCII/],
    [{ revision: '12345' }, /luns\[0\]\.revision: .*room for 4/],
    [{ removable: 'yes' }, /luns\[0\]\.removable: expected true or false/],
    [{ physicalBlockSize: 1536 }, /luns\[0\]\.physicalBlockSize: 1536 is not the block size 512 times a power of two/],
    [{ physicalBlockSize: 256 }, /luns\[0\]\.physicalBlockSize: 256 is outside 512\.\.16777216/],
    [{ sanitize: 'now' }, /luns\[0\]\.sanitize: expected true, false or \{seconds\}/],
    [{ sanitize: { seconds: -1 } }, /luns\[0\]\.sanitize\.seconds: -1 is outside 0\.\.3600/],
    [{ sanitize: { second: 1 } }, /luns\[0\]\.sanitize\.second: unknown field/],
  ];
  for (const [lun, message] of cases) t.throws(() => validateConfig(withLun(lun), context), message, JSON.stringify(lun));
});

t.test('keepAlive: false turns the pings off; bad values are named', async (t) => {
  t.same(validateConfig(withLun({}, { keepAlive: false }), context).keepAlive, { idleSeconds: 0, timeoutSeconds: 15 });
  t.same(validateConfig(withLun({}, { keepAlive: { idleSeconds: 30 } }), context).keepAlive, { idleSeconds: 30, timeoutSeconds: 15 });
  t.equal(validateConfig(withLun({}), context).keepAlive, undefined);
  t.throws(() => validateConfig(withLun({}, { keepAlive: { timeoutSeconds: 0 } }), context), /keepAlive\.timeoutSeconds: 0 is outside 1\.\.86400/);
  t.throws(() => validateConfig(withLun({}, { keepAlive: 'off' }), context), /keepAlive: expected an object/);
});
