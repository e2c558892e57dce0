/**
 * What every ReplicationTransport must do, as tap subtests over a factory (not a test file: tap skips
 * it). Run against the in-memory fake (unit) and the Redis implementation (integration), so the fake
 * stays faithful and another implementation (Redis Cluster, a shared connection) can prove itself.
 */
import { once } from 'node:events';
import type { Test } from 'tap';
import type { EpochJob, EpochJobData, ReplicationTransport } from '../../../../src/replication/transport/transport.ts';

type Tap = Test;

/** `connect` gives a new client of one shared store, connected (or about to be). */
export function transportContract(t: Tap, connect: () => Promise<ReplicationTransport>): void {
  const client = async (tt: Tap): Promise<ReplicationTransport> => {
    const transport = await connect();
    tt.teardown(() => transport.close());
    await transport.whenConnected(5000);
    return transport;
  };
  const unique = (): string => `c${Math.random().toString(16).slice(2, 10)}`;

  void t.test('keys and values: strings, binary, expiry, NX, delete, exists', async (t) => {
    const { store, connected } = await client(t);
    t.ok(connected, 'connected');
    const k = `iscsi-sim:{${unique()}}:x`;
    t.equal(await store.get(k), null);
    t.equal(await store.set(k, 'one'), true);
    t.equal(await store.get(k), 'one');
    t.equal(await store.set(k, 'two', { ifAbsent: true }), false, 'NX refuses an existing key');
    t.equal(await store.get(k), 'one');
    const binary = Buffer.from([0, 1, 2, 255, 0]);
    await store.set(`${k}:bin`, binary, { ttlMs: 60_000 });
    t.same(await store.getBuffer(`${k}:bin`), binary, 'binary round trip');
    t.equal(await store.exists(`${k}:bin`), true);
    t.equal(await store.del(k, `${k}:bin`, `${k}:none`), 2, 'del counts what existed');
    t.equal(await store.exists(k), false);
  });

  void t.test('large binary values (epoch payloads): byte-exact, with expiry and NX, in order with other commands', async (t) => {
    const { store } = await client(t);
    const k = `iscsi-sim:{${unique()}}:payload`;
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
    // Issued together with small commands in one tick: each is answered in the order sent.
    const [stored, small, refused] = await Promise.all([
      store.set(k, big, { ttlMs: 60_000 }),
      store.set(`${k}:small`, 'x'),
      store.set(k, Buffer.alloc(100 * 1024, 1), { ifAbsent: true }),
    ]);
    t.same([stored, small, refused], [true, true, false], 'SET answered OK, OK, then NX refused');
    t.ok((await store.getBuffer(k))?.equals(big), 'the large value round-trips byte for byte');
    t.equal(await store.get(`${k}:small`), 'x');
    const empty = Buffer.alloc(0);
    await store.set(`${k}:empty`, empty);
    t.same(await store.getBuffer(`${k}:empty`), empty, 'an empty buffer too');
    await store.del(k, `${k}:small`, `${k}:empty`);
  });

  void t.test('sets and hashes', async (t) => {
    const { store } = await client(t);
    const k = `iscsi-sim:${unique()}`;
    await store.sadd(`${k}:set`, 'a', 'b');
    await store.sadd(`${k}:set`, 'b', 'c');
    t.same((await store.smembers(`${k}:set`)).sort(), ['a', 'b', 'c']);
    t.same(await store.smembers(`${k}:none`), []);
    await store.hset(`${k}:hash`, { f1: 'v1', f2: 'v2' });
    await store.hset(`${k}:hash`, { f2: 'v2b' });
    t.same(await store.hgetall(`${k}:hash`), { f1: 'v1', f2: 'v2b' });
    t.same(await store.hgetall(`${k}:nohash`), {});
  });

  void t.test('pub/sub and atomic batches', async (t) => {
    const sender = await client(t);
    const receiver = await client(t);
    const channel = `iscsi-sim:${unique()}:channel`;
    const messages: string[] = [];
    const { EventEmitter } = await import('node:events');
    const arrived = new EventEmitter();
    const subscription = receiver.subscribe(channel, (message) => { messages.push(message); arrived.emit('message'); });
    t.teardown(() => subscription.close());
    // A subscription becomes live asynchronously (Redis SUBSCRIBE): publish until the first arrives.
    const first = once(arrived, 'message');
    const hello = setInterval(() => void sender.store.publish(channel, 'hello').catch(() => undefined), 20);
    await first;
    clearInterval(hello);
    const k = `iscsi-sim:{${unique()}}`;
    const next = once(arrived, 'message');
    await sender.store.batch([
      { op: 'set', key: `${k}:a`, value: '1' },
      { op: 'set', key: `${k}:b`, value: '2', options: { ttlMs: 60_000 } },
      { op: 'sadd', key: `${k}:s`, members: ['x'] },
      { op: 'publish', channel, message: 'done' },
    ]);
    await next;
    t.equal(messages.at(-1), 'done', 'the batch published');
    t.same([await sender.store.get(`${k}:a`), await sender.store.get(`${k}:b`), await sender.store.smembers(`${k}:s`)], ['1', '2', ['x']]);
    await sender.store.batch([{ op: 'set', key: `${k}:a`, value: '9', options: { ifAbsent: true } }]);
    t.equal(await sender.store.get(`${k}:a`), '1', 'NX inside a batch');
  });

  void t.test('compare-and-set: writes only over the expected value (or an absent key)', async (t) => {
    const { store } = await client(t);
    const k = `iscsi-sim:{${unique()}}:entry`;
    t.equal(await store.compareAndSet(k, 'v0', 'v1'), false, 'an absent key is not "v0"');
    t.equal(await store.get(k), null);
    t.equal(await store.compareAndSet(k, null, 'v1'), true, 'absent as expected');
    t.equal(await store.compareAndSet(k, null, 'v2'), false, 'present now');
    t.equal(await store.compareAndSet(k, 'v0', 'v2'), false, 'another value');
    t.equal(await store.get(k), 'v1', 'unchanged by the refused writes');
    t.equal(await store.compareAndSet(k, 'v1', 'v2'), true, 'the expected value');
    t.equal(await store.get(k), 'v2');
    t.equal(await store.compareAndSet(k, '', 'v3'), false, 'an empty expected value is not the absent key');
    const empty = `${k}:empty`;
    await store.set(empty, '');
    t.equal(await store.compareAndSet(empty, null, 'x'), false, 'an empty string is present');
    t.equal(await store.compareAndSet(empty, '', 'x'), true, 'and matches the empty expected value');
  });

  void t.test('epoch queue: jobs reach the consumer, a job id is queued once, a rejected job comes again', async (t) => {
    const source = await client(t);
    const replica = await client(t);
    const pairId = unique();
    const producer = source.epochProducer(pairId);
    t.teardown(() => producer.close());
    const job = (epoch: number): EpochJobData => ({ pair: pairId, generation: 7, epoch, key: `k${epoch}`, bytes: 1, resync: false });
    await producer.add(job(1), `${pairId}-g7-e1`);
    await producer.add(job(1), `${pairId}-g7-e1`);
    await producer.add(job(2), `${pairId}-g7-e2`);
    const seen: EpochJob[] = [];
    const { EventEmitter } = await import('node:events');
    const events = new EventEmitter();
    let failOnce = true;
    const consumer = replica.epochConsumer(pairId, async (received) => {
      if (received.data?.epoch === 2 && failOnce) { failOnce = false; throw new Error('not yet'); }
      seen.push(received);
      events.emit('job');
    }, { concurrency: 2, onError: () => undefined });
    t.teardown(() => consumer.close(false));
    while (seen.length < 2) await once(events, 'job');
    t.same(seen.map((j) => j.data?.epoch).sort(), [1, 2], 'each epoch handled once, the rejected one again');
    t.same(seen.map((j) => j.id).sort(), [`${pairId}-g7-e1`, `${pairId}-g7-e2`]);
  });
}
