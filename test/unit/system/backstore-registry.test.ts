import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LunConfig } from '../../../src/config/types.ts';
import { validateConfig } from '../../../src/config/validate.ts';
import { SpaceAllocationError } from '../../../src/storage/backstore.ts';
import { MemoryBackstore } from '../../../src/storage/memory-backstore.ts';
import { MemoryBudget } from '../../../src/storage/memory-budget.ts';
import { ObservedBackstore } from '../../../src/storage/observed-backstore.ts';
import { SparseFileBackstore } from '../../../src/storage/sparse-file-backstore.ts';
import { BACKSTORE_FACTORIES, openBackstore } from '../../../src/system/backstore-registry.ts';
import { System } from '../../../src/system/system.ts';
import { fakeWorld } from './fakes.ts';

const base = { lun: 0, sizeBytes: 1 << 20, blockSize: 512, readOnly: false } as const;

t.test('the LUN\'s backstore: names the plug-in; one factory per kind', async (t) => {
  t.same(Object.keys(BACKSTORE_FACTORIES).sort(), ['file', 'memory']);
  const dir = t.testdir();
  const budget = new MemoryBudget(4096);
  const file = await openBackstore({ ...base, backstore: 'file', file: join(dir, 'a.img') }, { label: 'LUN 0 of iqn.x', memoryBudget: budget });
  t.teardown(() => file.close());
  t.ok(file instanceof SparseFileBackstore, 'file: a sparse file');
  t.equal(file.label, join(dir, 'a.img'));
  const memory = await openBackstore({ ...base, backstore: 'memory' }, { label: 'LUN 1 of iqn.x', memoryBudget: budget });
  t.ok(memory instanceof MemoryBackstore, 'memory: RAM');
  t.equal(memory.label, 'memory LUN 1 of iqn.x');
  await memory.write(0, [Buffer.alloc(4096, 1)], { fua: false });
  await t.rejects(memory.write(8192, [Buffer.alloc(512)], { fua: false }), SpaceAllocationError, 'the system\'s budget applies');
});

t.test('a system with a memory LUN: no file, the backstore wrapped for change capture, memoryLimit shared', async (t) => {
  const dir = t.testdir();
  const config = validateConfig({
    name: 'sim', stateDir: 'state', portals: ['127.0.0.1:0'], memoryLimit: '8K',
    targets: [{ iqn: 'iqn.2026-11.org.example:a', luns: [{ backstore: 'memory', size: '1M' }, { lun: 1, size: '1M' }] }],
  }, { baseDir: dir, cwd: dir });
  const world = fakeWorld();
  const opened: LunConfig[] = [];
  const system = new System(config, { ...world.components, openBackstore: (lun, context) => { opened.push(lun); return openBackstore(lun, context); } });
  await system.start();
  t.teardown(() => system.stop());
  t.same(system.summary().targets[0].luns.map((l) => [l.lun, l.backstore, l.file]), [[0, 'memory', undefined], [1, 'file', join(dir, 'state', 'iqn.2026-11.org.example_a.lun1.img')]]);
  const lun = system.lun('iqn.2026-11.org.example:a', 0)!;
  t.ok(lun.backstore instanceof ObservedBackstore, 'wrapped for change capture');
  t.equal(lun.file, undefined);
  t.same(readdirSync(join(dir, 'state')).filter((name) => !name.includes('lun1')), [], 'nothing on disk for the memory LUN');
  await lun.backstore.write(0, [Buffer.alloc(8192, 1)], { fua: false });
  await t.rejects(lun.backstore.write(65536, [Buffer.alloc(512)], { fua: false }), SpaceAllocationError, 'memoryLimit: 8K');
});
