import t from 'tap';
import {
  applyChange, CLEAR_LINK, describeLink, parseLatency, parseLinkChange, parseLoss, parseRate,
} from '../../../../src/replication/link/link-conditions.ts';

t.test('rates as people write them: decimal MB (as links are sold), binary MiB, bits', async (t) => {
  t.equal(parseRate('20MB/s'), 20_000_000);
  t.equal(parseRate('16MiB/s'), 16 * 1024 * 1024);
  t.equal(parseRate('100Mbit/s'), 12_500_000);
  t.equal(parseRate('500KB'), 500_000);
  t.equal(parseRate('off'), null);
});

t.test('a bad rate names the field and says why', async (t) => {
  t.throws(() => parseRate('0MB/s', 'steps[2].link.rate'), /^steps\[2\]\.link\.rate: a rate of 0 carries nothing/);
  t.throws(() => parseRate('fast'), /^rate: "fast" is not a rate/);
  t.throws(() => parseRate('20 parsecs/s'), /is not a rate/);
  t.throws(() => parseRate('100B/s'), /at least 1 KiB\/s/);
});

t.test('latency and loss', async (t) => {
  t.equal(parseLatency('50ms'), 50);
  t.equal(parseLatency('1.5s'), 1500);
  t.equal(parseLatency('20'), 20);
  t.throws(() => parseLatency('soon'), /^latency: "soon" is not a duration/);
  t.throws(() => parseLatency('2h'), /is not a duration/);
  t.throws(() => parseLatency(120_000), /at most 60000 ms/);
  t.equal(parseLoss('1%'), 0.01);
  t.equal(parseLoss('0.2'), 0.2);
  t.throws(() => parseLoss('100%'), /^loss: must be a probability 0 ≤ p < 1/);
});

t.test('the JSON body of POST /api/links/PAIR is checked field by field', async (t) => {
  t.same(parseLinkChange({ partitioned: true, latencyMs: 20, rateBytesPerSecond: null, loss: 0.5 }), { partitioned: true, latencyMs: 20, rateBytesPerSecond: null, loss: 0.5 });
  t.throws(() => parseLinkChange({ partition: true }), /^partition: unknown field \(known: partitioned, latencyMs, rateBytesPerSecond, loss\)/);
  t.throws(() => parseLinkChange({ partitioned: 'yes' }), /^partitioned: must be true or false/);
  t.throws(() => parseLinkChange({ rateBytesPerSecond: 0 }), /^rateBytesPerSecond: a rate of 0 carries nothing/);
  t.throws(() => parseLinkChange({ latencyMs: -1 }), /^latencyMs: must be a number of milliseconds/);
  t.throws(() => parseLinkChange([]), /^body: must be a JSON object/);
});

t.test('a change touches only the fields it names; null removes the cap', async (t) => {
  const capped = applyChange(CLEAR_LINK, { rateBytesPerSecond: 20e6, latencyMs: 50 });
  const partitioned = applyChange(capped, { partitioned: true });
  t.same(partitioned, { partitioned: true, latencyMs: 50, rateBytesPerSecond: 20e6, loss: 0 });
  t.equal(describeLink(partitioned), 'PARTITIONED, +50 ms, cap 20.0 MB/s');
  t.same(applyChange(partitioned, { partitioned: false, rateBytesPerSecond: null }), { partitioned: false, latencyMs: 50, loss: 0 });
  t.equal(describeLink(CLEAR_LINK), 'clear');
});
