/** The in-memory fake honours the transport contract (the engine's unit tests rely on it). */
import t from 'tap';
import { transportContract } from './transport-contract.ts';
import { MemoryStore } from './memory-transport.ts';

const store = new MemoryStore();
transportContract(t, async () => store.connect());

t.test('a disconnected client fails fast and gets no messages; expiry follows the store clock', async (t) => {
  let now = 1000;
  const server = new MemoryStore(() => now);
  const a = server.connect();
  const b = server.connect();
  const got: string[] = [];
  const subscription = b.subscribe('ch', (message) => got.push(message));
  await a.store.set('k', 'v', { ttlMs: 10 });
  now += 10;
  t.equal(await a.store.get('k'), null, 'expired');
  b.disconnect();
  t.equal(b.connected, false);
  await t.rejects(b.store.get('k'), /unreachable/);
  await a.store.publish('ch', 'lost');
  b.reconnect();
  await a.store.publish('ch', 'kept');
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  t.same(got, ['kept'], 'messages while cut off are lost (pub/sub)');
  await subscription.close();
});
