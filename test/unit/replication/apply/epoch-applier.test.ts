import t from 'tap';
import { join } from 'node:path';
import { EpochApplier, type AckMessage } from '../../../../src/replication/apply/epoch-applier.ts';
import { pairKeys } from '../../../../src/replication/keys.ts';
import { replicationOptions } from '../../../../src/replication/options.ts';
import { encodePayload } from '../../../../src/replication/pipeline/payload.ts';
import { chunkDigests } from '../../../../src/replication/sync/digests.ts';
import type { Backstore } from '../../../../src/storage/backstore.ts';
import { fileBackstore, tempDir, waitFor, type TapLike } from '../helpers.ts';
import { ManualClock } from '../manual-clock.ts';
import { MemoryStore, type MemoryTransport } from '../transport/memory-transport.ts';

const SIZE = 1024 * 1024;
const PAIR = 'pair-a';
const GENERATION = 1_700_000_000_000;
const keys = pairKeys(PAIR);
const options = replicationOptions({ probeIntervalMs: 500 });

interface Rig {
  server: MemoryStore;
  transport: MemoryTransport;
  clock: ManualClock;
  backstore: Backstore;
  flushes: { count: number };
  applier: EpochApplier;
  /** Puts the payload in its key and (unless `announce` is false) queues its announcement, as the shipper does. */
  ship(epoch: number, payload: Buffer, announce?: boolean): Promise<void>;
  ack(): AckMessage | undefined;
  /** Lets the applier's probes run (one per `probeIntervalMs`) until `check` holds. */
  probeUntil(check: () => boolean, what: string): Promise<void>;
}

async function rig(t: TapLike): Promise<Rig> {
  const dir = await tempDir(t);
  const file = await fileBackstore(t, dir, 'replica.img', SIZE);
  const flushes = { count: 0 };
  const backstore: Backstore = Object.create(file, { flush: { value: () => { flushes.count++; return file.flush(); } } }) as Backstore;
  const server = new MemoryStore();
  const source = server.connect();
  const transport = server.connect();
  const clock = new ManualClock();
  const applier = new EpochApplier({ pairId: PAIR, backstore, journalBase: join(dir, 'pair'), transport, clock, options });
  t.teardown(() => applier.close());
  const producer = source.epochProducer(PAIR);
  await source.store.set(keys.generation, String(GENERATION));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    server, transport, clock, backstore, flushes, applier,
    async ship(epoch, payload, announce = true) {
      const key = keys.payload(GENERATION, epoch);
      await source.store.set(key, payload);
      if (announce) await producer.add({ pair: PAIR, generation: GENERATION, epoch, key, bytes: payload.length, resync: false }, keys.jobId(GENERATION, epoch));
    },
    ack() {
      const value = server.live(keys.ack)?.data;
      return typeof value === 'string' ? JSON.parse(value) as AckMessage : undefined;
    },
    async probeUntil(check, what) {
      for (let probes = 0; probes < 20 && !check(); probes++) {
        clock.advance(options.probeIntervalMs);
        for (let i = 0; i < 20 && !check(); i++) await settle();
      }
      if (!check()) throw new Error(`${what}: not after 20 probes`);
    },
  };
}

/** Epoch n writes byte n at offset 0 (each overwrites the one before) and at its own offset 4096·n. */
function epochPayload(n: number): Buffer {
  return encodePayload([{ offset: 0, data: Buffer.alloc(512, n) }, { offset: 4096 * n, data: Buffer.alloc(512, n) }]);
}

async function byteAt(backstore: Backstore, offset: number): Promise<number> {
  return (await backstore.read(offset, 1))[0]!;
}

t.test('ready epochs are applied as one batch, in order, acknowledged once, their payloads removed', async (t) => {
  const r = await rig(t);
  for (const n of [3, 1, 4, 2, 6, 5, 8, 7]) await r.ship(n, epochPayload(n));
  r.applier.pause();
  await r.applier.start();
  await r.server.until(() => r.server.waitingJobs(PAIR).length === 0, 5000, 'jobs taken');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(r.applier.applied, 0, 'nothing applied while paused');
  r.applier.resume();
  await r.server.until(() => r.ack()?.applied === 8, 5000, 'ack of epoch 8');
  t.equal(r.applier.applied, 8);
  t.equal(r.flushes.count, 1, 'one flush of the replica for the eight epochs');
  t.equal(await byteAt(r.backstore, 0), 8, 'the last epoch wrote last');
  for (let n = 1; n <= 8; n++) t.equal(await byteAt(r.backstore, 4096 * n), n);
  t.same(r.server.keys(`iscsi-sim:{${PAIR}}:payload`), [], 'payload keys deleted');
});

t.test('a batch stops at a missing payload; epochs after the gap wait for it', async (t) => {
  const r = await rig(t);
  for (const n of [1, 2, 4, 5]) await r.ship(n, epochPayload(n));
  await r.applier.start();
  await r.server.until(() => r.ack()?.applied === 2, 5000, 'ack of epoch 2');
  await r.server.until(() => r.server.waitingJobs(PAIR).length === 0, 5000, 'jobs taken');
  t.equal(r.applier.applied, 2, 'epochs 4 and 5 wait for 3');
  t.equal(await byteAt(r.backstore, 4096 * 4), 0);
  await r.ship(3, epochPayload(3));
  await r.server.until(() => r.ack()?.applied === 5, 5000, 'ack of epoch 5');
  t.equal(await byteAt(r.backstore, 0), 5);
});

t.test('a payload whose announcement has not arrived yet is applied with the batch before it', async (t) => {
  const r = await rig(t);
  r.applier.pause();
  await r.applier.start();
  await r.ship(1, epochPayload(1));
  await r.ship(2, epochPayload(2), false);
  await r.server.until(() => r.server.waitingJobs(PAIR).length === 0, 5000, 'job taken');
  r.applier.resume();
  await r.server.until(() => r.ack()?.applied === 2, 5000, 'ack of epoch 2');
  t.equal(r.flushes.count, 1, 'one batch');
  t.equal(await byteAt(r.backstore, 0), 2);
});

t.test('an unusable payload ends the batch: the epochs before it are applied, nothing after it', async (t) => {
  const r = await rig(t);
  r.applier.pause();
  await r.applier.start();
  await r.ship(1, epochPayload(1));
  await r.ship(2, encodePayload([{ offset: SIZE - 1, data: Buffer.alloc(2) }]));
  await r.ship(3, epochPayload(3));
  await r.server.until(() => r.server.waitingJobs(PAIR).length === 0, 5000, 'jobs taken');
  r.applier.resume();
  await r.server.until(() => r.ack()?.applied === 1, 5000, `ack of epoch 1 (applied ${r.applier.applied}, ack ${JSON.stringify(r.ack())})`);
  await r.server.until(() => r.server.live(keys.payload(GENERATION, 2)) === undefined, 5000, 'unusable payload removed');
  t.equal(r.applier.applied, 1, 'the stream stalls at the unusable epoch (the source resyncs)');
  t.equal(await byteAt(r.backstore, 4096 * 3), 0, 'epoch 3 not applied');
});

t.test('a verify request is answered at its epoch boundary: the batch ends there', async (t) => {
  const r = await rig(t);
  r.applier.pause();
  await r.applier.start();
  await r.ship(1, epochPayload(1));
  await r.ship(2, encodePayload([], { id: 'v1', chunkBytes: 65536 }));
  await r.ship(3, epochPayload(3));
  await r.server.until(() => r.server.waitingJobs(PAIR).length === 0, 5000, 'jobs taken');
  const dir = await tempDir(t);
  const expected = await fileBackstore(t, dir, 'expected.img', SIZE);
  await expected.write(0, [Buffer.alloc(512, 1)], { fua: false });
  await expected.write(4096, [Buffer.alloc(512, 1)], { fua: false });
  r.applier.resume();
  await r.server.until(() => r.ack()?.applied === 3, 5000, 'ack of epoch 3');
  const answered = r.server.live(keys.verifyDigests('v1'))?.data;
  t.same(JSON.parse(String(answered)), await chunkDigests(expected, 65536), 'digests of the replica after epoch 2, before 3');
  t.equal(r.flushes.count, 2, 'two batches: 1-2, then 3');
});

t.test('an ack lost to a Redis failure right after the apply is sent again by the next probe (idle pair)', async (t) => {
  const r = await rig(t);
  await r.applier.start();
  await r.ship(1, epochPayload(1));
  await r.server.until(() => r.ack()?.applied === 1, 5000, 'ack of epoch 1');
  // The next ack (a MULTI of SET + PUBLISH) fails once, as when Redis blips right after the apply.
  const store = r.transport.store;
  const batch = store.batch.bind(store);
  let failures = 1;
  store.batch = async (writes) => {
    if (failures-- > 0) throw new Error('connection lost');
    return batch(writes);
  };
  await r.ship(2, epochPayload(2));
  t.ok(await waitFor(() => r.applier.applied === 2 && r.applier.idle, 5000), 'epoch 2 applied');
  t.equal(r.ack()?.applied, 1, 'the ack of epoch 2 was lost');
  await r.probeUntil(() => r.ack()?.applied === 2, 'ack of epoch 2 sent again');
  await r.probeUntil(() => r.server.live(keys.payload(GENERATION, 2)) === undefined, 'applied payload removed');
  t.pass('acknowledged and cleaned up without a new epoch');
});
