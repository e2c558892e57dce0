import t from 'tap';
import { formatHostPort, parseHostPort } from '../../../src/config/portal-address.ts';

t.test('parses host:port forms', async (t) => {
  t.same(parseHostPort('127.0.0.1:3260'), { address: '127.0.0.1', port: 3260 });
  t.same(parseHostPort('[::1]:3261'), { address: '::1', port: 3261 });
  t.same(parseHostPort('::1', 3260), { address: '::1', port: 3260 });
  t.same(parseHostPort('localhost', 3260), { address: 'localhost', port: 3260 });
  t.same(parseHostPort('0.0.0.0:0'), { address: '0.0.0.0', port: 0 });
});

t.test('rejects bad ones', async (t) => {
  t.throws(() => parseHostPort('127.0.0.1'), /no port/);
  t.throws(() => parseHostPort('127.0.0.1:99999'), /not a port/);
  t.throws(() => parseHostPort('127.0.0.1:x'), /not a port/);
  t.throws(() => parseHostPort('bad host:1'), /not an IPv4/);
});

t.test('formats IPv6 in brackets', async (t) => {
  t.equal(formatHostPort('::1', 3260), '[::1]:3260');
  t.equal(formatHostPort('127.0.0.1', 3260), '127.0.0.1:3260');
});
