import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.ts';

t.test('loads YAML relative to the file', async (t) => {
  const dir = t.testdir({
    'system.yaml': 'name: sim\nstateDir: st\nportals: ["127.0.0.1:0"]\ntargets:\n  - iqn: iqn.2026-11.org.example:t\n    luns:\n      - size: 64M\n',
  });
  const config = await loadConfigFile(join(dir, 'system.yaml'), '/nowhere');
  t.equal(config.stateDir, join(dir, 'st'));
  t.equal(config.targets[0].luns[0].sizeBytes, 64 * 1024 * 1024);
});

t.test('loads JSON and takes the size of an existing file', async (t) => {
  const dir = t.testdir({ 'disk.img': Buffer.alloc(4096) });
  await writeFile(join(dir, 'system.json'), JSON.stringify({ name: 'sim', stateDir: '.', portals: ['[::1]:3260'], targets: [{ iqn: 'iqn.2026-11.org.example:t', luns: [{ file: 'disk.img' }] }] }));
  const config = await loadConfigFile(join(dir, 'system.json'));
  t.equal(config.targets[0].luns[0].sizeBytes, 4096);
});

t.test('reports syntax errors with line and missing files', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'name: sim\nportals: [\n', 'dup.yaml': 'name: a\nname: b\n' });
  await t.rejects(loadConfigFile(join(dir, 'bad.yaml')), /bad\.yaml:\d+:\d+: /);
  await t.rejects(loadConfigFile(join(dir, 'dup.yaml')), /dup\.yaml:2:1: /);
  await t.rejects(loadConfigFile(join(dir, 'none.yaml')), /cannot read config .*none\.yaml: ENOENT/);
});
