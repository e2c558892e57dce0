import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MAX_CACHED_READ_BYTES, readCached } from '../../../src/storage/cached-read.ts';

t.test('cached data is copied synchronously; nothing is claimed that was not read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cached-read-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'f.bin');
  const content = Buffer.alloc(64 * 1024);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;
  writeFileSync(path, content); // just written: in the page cache
  const fd = openSync(path, 'r');
  t.teardown(() => closeSync(fd));

  const target = Buffer.alloc(8192);
  const n = readCached(fd, target, 4096);
  t.ok(n === 0 || n === 8192, `all or nothing here (got ${n})`);
  if (n > 0) t.same(target, content.subarray(4096, 4096 + 8192), 'the bytes at the offset');

  const whole = Buffer.alloc(8192, 0xee);
  const view = whole.subarray(100, 100 + 4096);
  const m = readCached(fd, view, 0);
  t.ok(m === 0 || m === 4096, `all or nothing into a view (got ${m})`);
  if (m > 0) {
    t.same(view, content.subarray(0, 4096), 'a view is filled at its own offset');
    t.same(whole.subarray(0, 100), Buffer.alloc(100, 0xee), 'nothing before the view is touched');
    t.same(whole.subarray(4196), Buffer.alloc(8192 - 4196, 0xee), 'nothing after it');
  }

  const past = Buffer.alloc(4096, 0xee);
  t.equal(readCached(fd, past, content.length), 0, 'past the end: nothing read');
  t.equal(readCached(fd, Buffer.alloc(0), 0), 0, 'empty target');
  t.equal(readCached(fd, Buffer.alloc(MAX_CACHED_READ_BYTES + 1), 0), 0, 'too large for the event loop: left to the thread pool');
  t.equal(readCached(-1, Buffer.alloc(512), 0), 0, 'a bad descriptor is a miss, not an exception');
});
