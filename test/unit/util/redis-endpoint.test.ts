import t from 'tap';
import { clusterUrl, parseRedisEndpoint, redactRedisUrl } from '../../../src/util/redis-endpoint.ts';

t.test('single Redis URLs pass through', async (t) => {
  t.same(parseRedisEndpoint('redis://127.0.0.1:6379/2'), { kind: 'single', url: 'redis://127.0.0.1:6379/2' });
  t.throws(() => parseRedisEndpoint('http://x'), /scheme must be redis:, rediss: or redis\+cluster:/);
});

t.test('cluster URLs: nodes, IPv6, credentials (redacted in messages)', async (t) => {
  t.same(parseRedisEndpoint('redis+cluster://127.0.0.1:7000,[::1]:7001'), { kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '::1', port: 7001 }] });
  t.same(parseRedisEndpoint('redis+cluster://u:p%40ss@h1:1,h2:2/'), { kind: 'cluster', nodes: [{ host: 'h1', port: 1 }, { host: 'h2', port: 2 }], username: 'u', password: 'p@ss' });
  t.same(parseRedisEndpoint('redis+cluster://:secret@h1:1'), { kind: 'cluster', nodes: [{ host: 'h1', port: 1 }], password: 'secret' });
  const error = (() => { try { parseRedisEndpoint('redis+cluster://:secret@h1'); } catch (err) { return (err as Error).message; } return ''; })();
  t.match(error, /"h1" is not host:port/);
  t.notMatch(error, /secret/);
  t.equal(redactRedisUrl('redis+cluster://u:secret@h1:1,h2:2'), 'redis+cluster://u:***@h1:1,h2:2');
  t.equal(redactRedisUrl('redis://:secret@h1:1'), 'redis://:***@h1:1');
  t.equal(clusterUrl(['a:1', 'b:2']), 'redis+cluster://a:1,b:2');
});
