/** The Redis transport honours the transport contract the in-memory fake is held to (real redis-server). */
import t from 'tap';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { RedisTransport } from '../../src/replication/transport/redis-transport.ts';
import { tempDir } from '../unit/replication/helpers.ts';
import { transportContract } from '../unit/replication/transport/transport-contract.ts';

const dir = await tempDir(t);
const redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: false });
t.teardown(() => redis.stop());
transportContract(t, async () => new RedisTransport(redis.url));

t.test('unreachable: commands fail fast, whenConnected gives up after its bound', async (t) => {
  const transport = new RedisTransport('redis://127.0.0.1:1');
  t.teardown(() => transport.close());
  const started = Date.now();
  await transport.whenConnected(300);
  t.equal(transport.connected, false);
  t.ok(Date.now() - started < 3000, 'bounded');
  await t.rejects(transport.store.get('x'));
});
