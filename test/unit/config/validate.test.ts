import t, { type Test } from 'tap';
import { ConfigError } from '../../../src/config/errors.ts';
import { validateConfig } from '../../../src/config/validate.ts';

const context = { baseDir: '/etc/sim', cwd: '/work', fileSize: (path: string) => (path === '/data/existing.img' ? 1048576 : undefined) };

function minimal(): Record<string, unknown> {
  return {
    name: 'sim1',
    portals: ['127.0.0.1:3260'],
    targets: [{ iqn: 'iqn.2026-11.org.iscsi-sim:sim1.t0', luns: [{ size: '1G' }] }],
  };
}

function fails(t: Test, document: unknown, pattern: RegExp): void {
  t.throws(() => validateConfig(document, context), pattern);
}

t.test('fills defaults', async (t) => {
  const config = validateConfig(minimal(), context);
  t.equal(config.stateDir, '/work/state/sim1');
  t.same(config.portals, [{ address: '127.0.0.1', port: 3260, portalGroupTag: 1 }]);
  const target = config.targets[0];
  t.same(target.portalGroupTags, [1]);
  t.same(target.allowedInitiators, []);
  t.same(target.luns[0], { lun: 0, backstore: 'file', file: '/work/state/sim1/iqn.2026-11.org.iscsi-sim_sim1.t0.lun0.img', sizeBytes: 1073741824, blockSize: 512, readOnly: false });
  t.same(config.cim, { enabled: false, address: '127.0.0.1', port: 5988 });
  t.same(config.peers, []);
});

t.test('reads a full document', async (t) => {
  const config = validateConfig({
    name: 'primary',
    stateDir: 'state',
    portals: [{ address: '127.0.0.1', port: 3260 }, { address: '127.0.0.1', port: 3262, portalGroupTag: 2 }, '[::1]:3260'],
    targets: [{
      iqn: 'IQN.2026-11.org.iscsi-sim:Primary.Disk',
      alias: 'disk',
      portalGroupTags: [2],
      allowedInitiators: ['iqn.1993-08.org.debian:01:abc'],
      chap: { user: 'u', secret: 'secretsecret', mutualUser: 't', mutualSecret: 'othersecret12' },
      luns: [{ lun: 3, file: 'disk.img', size: '10T', blockSize: 4096, serial: 'SER1', readOnly: true, thinProvisioning: false }, { file: '/data/existing.img' }],
    }],
    discoveryChap: { user: 'd', secret: 'discoverysecret' },
    cim: { port: 15988, user: 'admin', password: 'pw', https: true },
    peers: [{ name: 'peer', cimUrl: 'http://127.0.0.1:5989' }],
    redisUrl: 'redis://127.0.0.1:6379',
    metrics: '127.0.0.1:9464',
  }, context);
  t.equal(config.stateDir, '/etc/sim/state');
  t.equal(config.portals[2].address, '::1');
  t.equal(config.targets[0].iqn, 'iqn.2026-11.org.iscsi-sim:primary.disk');
  t.same(config.targets[0].luns.map((l) => [l.lun, l.file, l.sizeBytes, l.blockSize]), [[3, '/etc/sim/state/disk.img', 10 * 1024 ** 4, 4096], [1, '/data/existing.img', 1048576, 512]]);
  t.same(config.cim, { enabled: true, address: '127.0.0.1', port: 15988, user: 'admin', password: 'pw', https: {} });
  t.same(config.metrics, { address: '127.0.0.1', port: 9464 });
  t.equal(config.targets[0].chap?.mutualUser, 't');
  t.equal(config.targets[0].luns[0].thinProvisioning, false);
  t.equal(config.targets[0].luns[1].thinProvisioning, undefined, 'absent: the SCSI layer decides');
});

t.test('names the offending field', async (t) => {
  const badSize = minimal();
  (badSize.targets as Array<Record<string, unknown>>)[0].luns = [{ size: '1G' }, { size: '12Q' }];
  try {
    validateConfig(badSize, context);
    t.fail('should throw');
  } catch (error) {
    t.ok(error instanceof ConfigError);
    t.equal((error as ConfigError).field, 'targets[0].luns[1].size');
    t.equal((error as Error).message, 'targets[0].luns[1].size: "12Q" is not a size (use 512, 64K, 1G, 10T)');
  }
});

t.test('rejects bad documents', async (t) => {
  fails(t, 'text', /expected an object/);
  fails(t, { ...minimal(), name: undefined }, /^name: is required/);
  fails(t, { ...minimal(), name: 'bad name' }, /^name: /);
  fails(t, { ...minimal(), portal: [] }, /^portal: unknown field/);
  fails(t, { ...minimal(), portals: [] }, /^portals: at least one/);
  fails(t, { ...minimal(), portals: ['127.0.0.1:3260', '127.0.0.1:3260'] }, /^portals\[1\]: 127\.0\.0\.1:3260 is already used by portals\[0\]/);
  fails(t, { ...minimal(), portals: [{ address: '127.0.0.1', port: 70000 }] }, /^portals\[0\]\.port: 70000 is outside/);
  fails(t, { ...minimal(), portals: [{ address: '127.0.0.1', portalGroupTag: 0 }] }, /^portals\[0\]\.portalGroupTag/);
  fails(t, { ...minimal(), targets: [] }, /^targets: at least one/);
  fails(t, { ...minimal(), targets: [{ iqn: 'disk', luns: [{ size: '1G' }] }] }, /^targets\[0\]\.iqn: "disk" is not an iSCSI name/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', portalGroupTags: [7], luns: [{ size: '1G' }] }] }, /^targets\[0\]\.portalGroupTags\[0\]: 7 is not the portalGroupTag/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [] }] }, /^targets\[0\]\.luns: at least one LUN/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ lun: 1, size: '1G' }, { lun: 1, size: '1G', file: 'b' }] }] }, /^targets\[0\]\.luns\[1\]\.lun: LUN 1 is already defined by targets\[0\]\.luns\[0\]/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ size: '1G', file: 'x' }] }, { iqn: 'iqn.2026-11.org.A', luns: [{ size: '1G', file: 'y' }] }] }, /^targets\[1\]\.iqn: .* already used by targets\[0\]/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ size: '1G', file: '/d/x' }] }, { iqn: 'iqn.2026-11.org.b', luns: [{ size: '1G', file: '/d/x' }] }] }, /^targets\[1\]\.luns\[0\]\.file: \/d\/x is already the backing file of targets\[0\]\.luns\[0\]\.file/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ file: 'missing.img' }] }] }, /^targets\[0\]\.luns\[0\]\.size: is required because .*missing\.img does not exist/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ size: 1000 }] }] }, /not a positive multiple of the block size 512/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', luns: [{ size: '1G', blockSize: 1024 }] }] }, /blockSize: 1024 is not 512 or 4096/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', allowedInitiators: ['bob'], luns: [{ size: '1G' }] }] }, /^targets\[0\]\.allowedInitiators\[0\]: "bob"/);
  fails(t, { ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', chap: { user: 'u' }, luns: [{ size: '1G' }] }] }, /^targets\[0\]\.chap\.secret: is required/);
  fails(t, { ...minimal(), discoveryChap: { user: 'u', secret: 'long-enough-1', mutualUser: 'm' } }, /^discoveryChap\.mutualSecret: mutual CHAP needs both/);
  fails(t, { ...minimal(), discoveryChap: { user: 'u', secret: 'long-enough-1', mutualUser: 'm', mutualSecret: 'long-enough-1' } }, /must differ from secret/);
  fails(t, { ...minimal(), cim: { enabled: 'yes' } }, /^cim\.enabled: expected true or false/);
  fails(t, { ...minimal(), peers: [{ name: 'p', cimUrl: 'ftp://x' }] }, /^peers\[0\]\.cimUrl: .* must start with http/);
  fails(t, { ...minimal(), peers: [{ name: 'sim1', cimUrl: 'http://x' }] }, /^peers\[0\]\.name: "sim1" is this system's own name/);
  fails(t, { ...minimal(), peers: [{ name: 'p', cimUrl: 'http://x' }, { name: 'p', cimUrl: 'http://y' }] }, /^peers\[1\]\.name: "p" is already used by peers\[0\]/);
  fails(t, { ...minimal(), redisUrl: 'nonsense' }, /^redisUrl: "nonsense" is not a URL/);
});

t.test('cim can be switched off explicitly', async (t) => {
  t.equal(validateConfig({ ...minimal(), cim: { enabled: false } }, context).cim.enabled, false);
});

// Issue 12: CHAP accepted a 5-character secret.
t.test('CHAP secrets shorter than 12 characters are refused, naming the field, unless allowShortSecrets', async (t) => {
  const withChap = (chap: Record<string, unknown>): Record<string, unknown> => ({ ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.a', chap, luns: [{ size: '1G' }] }] });
  fails(t, withChap({ user: 'u', secret: 'short' }), /^targets\[0\]\.chap\.secret: is 5 characters; RFC 7143 §9\.2\.1 wants at least 96 random bits \(12\+ characters\)/);
  fails(t, withChap({ user: 'u', secret: 'long-enough-1', mutualUser: 'm', mutualSecret: 'elevenchars' }), /^targets\[0\]\.chap\.mutualSecret: is 11 characters/);
  fails(t, { ...minimal(), discoveryChap: { user: 'u', secret: 'tiny' } }, /^discoveryChap\.secret: is 4 characters/);
  t.equal(validateConfig(withChap({ user: 'u', secret: 'twelve-chars' }), context).targets[0].chap?.secret, 'twelve-chars', '12 characters are enough');
  const weak = validateConfig(withChap({ user: 'u', secret: 'short', mutualUser: 'm', mutualSecret: 'short2', allowShortSecrets: true }), context);
  t.same(weak.targets[0].chap, { user: 'u', secret: 'short', mutualUser: 'm', mutualSecret: 'short2' }, 'allowed explicitly');
  fails(t, withChap({ user: 'u', secret: 'short', allowShortSecrets: 'yes' }), /^targets\[0\]\.chap\.allowShortSecrets: expected true or false/);
});

// Issue 12: `cim: {address: 0.0.0.0}` with no user served CIM-XML to the network with no warning.
t.test('CIM or /metrics on a non-loopback address without authentication is refused unless allowUnauthenticated', async (t) => {
  fails(t, { ...minimal(), cim: { address: '0.0.0.0' } }, /^cim\.address: CIM-XML on 0\.0\.0\.0 \(not loopback\) without authentication .*allowUnauthenticated: true$/);
  fails(t, { ...minimal(), cim: { address: '::' } }, /^cim\.address: CIM-XML on ::/);
  fails(t, { ...minimal(), cim: { address: 'storage.example.org' } }, /^cim\.address: /);
  t.same(validateConfig({ ...minimal(), cim: { address: '0.0.0.0', allowUnauthenticated: true } }, context).cim, { enabled: true, address: '0.0.0.0', port: 5988, allowUnauthenticated: true });
  t.equal(validateConfig({ ...minimal(), cim: { address: '0.0.0.0', user: 'admin', password: 'pw', https: true } }, context).cim.user, 'admin', 'with basic auth (over HTTPS)');
  t.equal(validateConfig({ ...minimal(), cim: { address: '0.0.0.0', enabled: false } }, context).cim.enabled, false, 'a disabled server opens nothing');
  for (const loopback of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) t.equal(validateConfig({ ...minimal(), cim: { address: loopback } }, context).cim.address, loopback);

  fails(t, { ...minimal(), metrics: '0.0.0.0:9464' }, /^metrics: Prometheus \/metrics on 0\.0\.0\.0 \(not loopback\) without authentication/);
  fails(t, { ...minimal(), metrics: { address: '10.1.2.3' } }, /^metrics\.address: Prometheus \/metrics on 10\.1\.2\.3/);
  t.same(validateConfig({ ...minimal(), metrics: { address: '0.0.0.0', port: 9000, allowUnauthenticated: true } }, context).metrics, { address: '0.0.0.0', port: 9000, allowUnauthenticated: true });
  t.same(validateConfig({ ...minimal(), metrics: { address: '127.0.0.1' } }, context).metrics, { address: '127.0.0.1', port: 9464 });
});

t.test('cim over HTTPS: port 5989 by default, a self-signed or configured certificate; basic auth needs HTTPS', async (t) => {
  const withCim = (cim: unknown, peers: unknown[] = []) => validateConfig({ ...minimal(), cim, peers }, context);
  t.same(withCim({ https: true }).cim, { enabled: true, address: '127.0.0.1', port: 5989, https: {} });
  t.same(withCim({}).cim, { enabled: true, address: '127.0.0.1', port: 5988 }, 'plain HTTP on 5988 without https');
  t.same(withCim({ https: false }).cim.https, undefined);
  t.same(withCim({ https: { cert: 'tls/c.pem', key: '/k.pem' } }).cim.https, { cert: '/etc/sim/tls/c.pem', key: '/k.pem' }, 'paths resolve against the config folder');
  fails(t, { ...minimal(), cim: { https: { cert: 'c.pem' } } }, /^cim\.https\.key: needs both cert and key/);
  fails(t, { ...minimal(), cim: { https: 'yes' } }, /^cim\.https: expected true, false or \{cert, key\}/);
  fails(t, { ...minimal(), cim: { https: { cert: 'c', key: 'k', ca: 'x' } } }, /^cim\.https\.ca: unknown field/);
  fails(t, { ...minimal(), cim: { user: 'admin', password: 'pw' } }, /^cim\.user: basic auth over plain HTTP sends the password in clear text/);
  t.same(withCim({ user: 'admin', password: 'pw', allowBasicAuthOverHttp: true }).cim,
    { enabled: true, address: '127.0.0.1', port: 5988, user: 'admin', password: 'pw', allowBasicAuthOverHttp: true }, 'unless allowed explicitly');

  t.same(withCim({}, [{ name: 'p', cimUrl: 'https://127.0.0.1:5989', ca: 'peer.pem' }]).peers[0], { name: 'p', cimUrl: 'https://127.0.0.1:5989', ca: '/etc/sim/peer.pem' });
  t.same(withCim({}, [{ name: 'p', cimUrl: 'https://127.0.0.1:5989', insecure: true }]).peers[0], { name: 'p', cimUrl: 'https://127.0.0.1:5989', insecure: true });
  fails(t, { ...minimal(), peers: [{ name: 'p', cimUrl: 'http://127.0.0.1:5988', ca: 'peer.pem' }] }, /^peers\[0\]\.ca: applies to an https cimUrl only/);
  fails(t, { ...minimal(), peers: [{ name: 'p', cimUrl: 'https://127.0.0.1:5989', ca: 'peer.pem', insecure: true }] }, /^peers\[0\]\.insecure: give ca .* or insecure/);
});

t.test('backstore: memory LUNs have no file and need a size; memoryLimit is a size', async (t) => {
  const doc = minimal();
  doc.targets = [{ iqn: 'iqn.2026-11.org.iscsi-sim:sim1.t0', luns: [{ backstore: 'memory', size: '256M' }, { size: '1M' }] }];
  doc.memoryLimit = '2G';
  const config = validateConfig(doc, context);
  t.same(config.targets[0].luns[0], { lun: 0, backstore: 'memory', sizeBytes: 256 * 1024 * 1024, blockSize: 512, readOnly: false });
  t.equal(config.targets[0].luns[1].backstore, 'file', 'file is the default');
  t.equal(config.memoryLimit, 2 * 1024 ** 3);
  t.equal(validateConfig(minimal(), context).memoryLimit, undefined, 'absent: the system applies DEFAULTS.memoryLimit');
  const lunDoc = (lun: Record<string, unknown>) => ({ ...minimal(), targets: [{ iqn: 'iqn.2026-11.org.iscsi-sim:sim1.t0', luns: [lun] }] });
  fails(t, lunDoc({ backstore: 'memory' }), /^targets\[0\]\.luns\[0\]\.size: is required for a memory LUN$/);
  fails(t, lunDoc({ backstore: 'memory', size: '1M', file: 'x.img' }), /^targets\[0\]\.luns\[0\]\.file: a memory LUN has no backing file/);
  fails(t, lunDoc({ backstore: 'memory', size: '1M', createParents: true }), /^targets\[0\]\.luns\[0\]\.createParents: a memory LUN has no backing file/);
  fails(t, lunDoc({ backstore: 'ram', size: '1M' }), /^targets\[0\]\.luns\[0\]\.backstore: "ram" is not a backstore \(known: file, memory\)$/);
  fails(t, { ...minimal(), memoryLimit: 'lots' }, /^memoryLimit: "lots" is not a size/);
});

t.test('metrics.token: non-loopback allowed with a token (controls need it); a short token is refused naming the field', async (t) => {
  t.same(validateConfig({ ...minimal(), metrics: { address: '0.0.0.0', token: 'abcdefghijklmnop' } }, context).metrics, { address: '0.0.0.0', port: 9464, token: 'abcdefghijklmnop' });
  fails(t, { ...minimal(), metrics: { address: '127.0.0.1', token: 'short' } }, /^metrics\.token: must be at least 16 printable characters/);
});

// Issue 13: a Redis Cluster is named as `redis: {cluster: [...]}` or a redis+cluster:// URL.
t.test('a Redis Cluster: redis.cluster nodes or a redis+cluster:// URL, carried as one URL', async (t) => {
  t.equal(validateConfig({ ...minimal(), redis: { cluster: ['127.0.0.1:7000', '[::1]:7001'] } }, context).redisUrl, 'redis+cluster://127.0.0.1:7000,[::1]:7001');
  t.equal(validateConfig({ ...minimal(), redis: { url: 'redis://127.0.0.1:6379' } }, context).redisUrl, 'redis://127.0.0.1:6379');
  t.equal(validateConfig({ ...minimal(), redisUrl: 'redis+cluster://h1:7000,h2:7001' } , context).redisUrl, 'redis+cluster://h1:7000,h2:7001');
  fails(t, { ...minimal(), redis: { cluster: ['127.0.0.1'] } }, /^redis\.cluster\[0\]: "127\.0\.0\.1" is not host:port/);
  fails(t, { ...minimal(), redis: { cluster: [] } }, /^redis\.cluster: name at least one node/);
  fails(t, { ...minimal(), redis: { cluster: ['a:1'], url: 'redis://x' } }, /^redis\.cluster: give either url or cluster/);
  fails(t, { ...minimal(), redis: {} }, /^redis\.url: give either url or cluster/);
  fails(t, { ...minimal(), redis: { cluster: ['a:1'] }, redisUrl: 'redis://x' }, /^redis: give either redis or redisUrl/);
  fails(t, { ...minimal(), redisUrl: 'redis+cluster://h1:70000' }, /^redisUrl: .*cluster node "h1:70000" is not host:port/);
  fails(t, { ...minimal(), redisUrl: 'redis+cluster://' }, /^redisUrl: .*names at least one node/);
});

t.test('luns[].faults: kept with their paths for the fault module; a non-object entry is refused naming it', async (t) => {
  const base = minimal() as { targets: Array<{ luns: Array<Record<string, unknown>> }> };
  const withFaults = { ...base, targets: [{ ...base.targets[0], luns: [{ ...base.targets[0]?.luns[0], faults: [{ action: 'busy', every: 3 }] }] }] };
  t.same(validateConfig(withFaults, context).targets[0]?.luns[0]?.faults, [{ path: 'targets[0].luns[0].faults[0]', rule: { action: 'busy', every: 3 } }]);
  const bad = { ...base, targets: [{ ...base.targets[0], luns: [{ ...base.targets[0]?.luns[0], faults: ['busy'] }] }] };
  fails(t, bad, /^targets\[0\]\.luns\[0\]\.faults\[0\]: expected a fault rule/);
});
