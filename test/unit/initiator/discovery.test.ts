import t from 'tap';
import { discoverTargets, parsePortal } from '../../../src/initiator/discovery.ts';
import { PduParser } from '../../../src/iscsi/parser.ts';
import { ittOf, type Pdu } from '../../../src/iscsi/pdu.ts';
import { encodeKeys } from '../../../src/iscsi/text-keys.ts';
import { decodeKeys, loginRequest } from '../../../src/initiator/requests.ts';
import { refusedPortal, startFakeTarget } from '../cim/support/fake-discovery-target.ts';

t.test('login request: CSG=1 NSG=3 T=1, immediate, keys NUL separated and padded', async (t) => {
  const pdu = loginRequest({ isid: Buffer.from([0x80, 1, 2, 3, 4, 5]), itt: 7, cmdSN: 1, expStatSN: 0 }, encodeKeys([['SessionType', 'Discovery']]));
  t.equal(pdu[0], 0x43);
  t.equal(pdu[1], 0x87);
  t.equal(pdu.readUIntBE(5, 3), 'SessionType=Discovery\0'.length);
  t.equal(pdu.length % 4, 0);
  t.same(decodeKeys(pdu.subarray(48, 48 + pdu.readUIntBE(5, 3))), [['SessionType', 'Discovery']]);
});

t.test('the requests frame through the fabric\'s PduParser at every split point', async (t) => {
  const a = loginRequest({ isid: Buffer.alloc(6), itt: 1, cmdSN: 1, expStatSN: 0 }, encodeKeys([['A', '1']]));
  const b = loginRequest({ isid: Buffer.alloc(6), itt: 2, cmdSN: 1, expStatSN: 0 }, encodeKeys([['B', '22']]));
  const both = Buffer.concat([a, b]);
  for (let cut = 1; cut < both.length; cut++) {
    const got: Pdu[] = [];
    const parser = new PduParser({ pdu: (p) => got.push(p), error: (e) => t.fail(e.message) });
    parser.push(both.subarray(0, cut));
    parser.push(both.subarray(cut));
    if (got.length !== 2 || ittOf(got[1].bhs) !== 2 || !decodeKeys(got[1].data).some(([k]) => k === 'B')) t.fail(`split at ${cut}`);
  }
  t.pass('every split point yields both PDUs');
});

t.test('portal parsing', async (t) => {
  t.same(parsePortal('127.0.0.1:3261'), { host: '127.0.0.1', port: 3261 });
  t.same(parsePortal('[::1]:3262'), { host: '::1', port: 3262 });
  t.same(parsePortal('host'), { host: 'host', port: 3260 });
});

t.test('discovers targets, following Text continuation', async (t) => {
  const target = await startFakeTarget({ targets: ['iqn.2026-01.x:a', 'iqn.2026-01.x:b', 'iqn.2026-01.x:c'], textParts: 3 });
  t.teardown(() => target.close());
  const found = await discoverTargets(target.portal, { timeoutMs: 5000 });
  t.same(found.map((f) => f.name), ['iqn.2026-01.x:a', 'iqn.2026-01.x:b', 'iqn.2026-01.x:c']);
  t.same(found[0].addresses, ['127.0.0.1:3260,1']);
});

t.test('a refused connection rejects with ECONNREFUSED', async (t) => {
  await t.rejects(discoverTargets(await refusedPortal(), { timeoutMs: 5000 }), { code: 'ECONNREFUSED' });
});

t.test('a login reject rejects with the status class', async (t) => {
  const target = await startFakeTarget({ targets: [], loginStatusClass: 2 });
  t.teardown(() => target.close());
  await t.rejects(discoverTargets(target.portal, { timeoutMs: 5000 }), { name: 'DiscoveryError', statusClass: 2 });
});

t.test('a silent target hits the deadline', async (t) => {
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  const port = (server.address() as import('node:net').AddressInfo).port;
  await t.rejects(discoverTargets(`127.0.0.1:${port}`, { timeoutMs: 200 }), /within 200 ms/);
});
