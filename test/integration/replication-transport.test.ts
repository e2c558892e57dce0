/** The Redis transport honours the transport contract the in-memory fake is held to (real redis-server). */
import t from 'tap';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../../src/lab/embedded-redis.ts';
import { generationOf, PairRegistry } from '../../src/replication/mirror/pair-registry.ts';
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

t.test('pair registry over Redis: concurrent read-modify-write updates from two systems lose none', async (t) => {
  const systems = [new RedisTransport(redis.url), new RedisTransport(redis.url)];
  t.teardown(() => Promise.all(systems.map((s) => s.close())));
  for (const system of systems) await system.whenConnected(5000);
  const registries = systems.map((system) => new PairRegistry(system.store, dir));
  const lun = (system: string, naa: string) => ({ system, targetIqn: 'iqn.2026-01.test:t', lun: 0, naa });
  const record = { pairId: 'm-cas', source: lun('a', '6001405aaaaaaaa1'), target: lun('b', '6001405bbbbbbbb2'), mode: 'async' as const, createdAt: new Date().toISOString() };
  await registries[0].publish(record, 'active');
  const increments = 40;
  await Promise.all(Array.from({ length: increments }, (_, i) => registries[i % 2].update(record.pairId, (current) => ({
    record, admin: 'active', changes: { generation: generationOf(current!) + 1 },
  }))));
  const entry = await registries[1].fetch(record.pairId);
  t.equal(entry?.generation, 1 + increments, 'every increment counted');
  t.equal(entry?.revision, 1 + increments, 'one revision each');
});
