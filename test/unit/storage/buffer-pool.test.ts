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
