import t from 'tap';
import { BufferPool } from '../../../src/storage/buffer-pool.ts';

t.test('released buffers are reused; double release is harmless', (t) => {
  const pool = new BufferPool();
  const a = pool.acquire(5000);
  t.equal(a.buffer.length, 5000);
  a.release();
  a.release();
  t.equal(pool.idleCount(), 1);
  const b = pool.acquire(6000);
  t.equal(b.buffer.buffer, a.buffer.buffer, 'same backing memory (same 8 KiB class)');
  t.equal(pool.idleCount(), 0);
  b.release();
  const huge = pool.acquire(64 * 1024 * 1024);
  huge.release();
  t.equal(pool.idleCount(), 1, 'oversized buffers are not pooled');
  t.end();
});

t.test('maxIdleBytes caps what released buffers keep idle', (t) => {
  const pool = new BufferPool({ maxIdleBytes: 8192 });
  const a = pool.acquire(4096);
  const b = pool.acquire(4096);
  const c = pool.acquire(4096);
  a.release();
  b.release();
  c.release();
  t.equal(pool.idleCount(), 2, 'two 4 KiB buffers fit in 8 KiB; the third is dropped');
  pool.acquire(4096);
  pool.acquire(8192).release();
  t.equal(pool.idleCount(), 1, 'a reused buffer frees its bytes from the cap; an 8 KiB one does not fit beside the idle 4 KiB');
  t.end();
});
