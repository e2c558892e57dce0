import t from 'tap';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../../src/config/load.ts';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

t.test('the system configs in fixtures/ validate', async (t) => {
  const files = readdirSync(fixtures).filter((f) => f === 'system.yaml' || /^lab-(primary|peer)\.yaml$/.test(f));
  t.equal(files.length, 3);
  for (const file of files) {
    const config = await loadConfigFile(join(fixtures, file), '/tmp/fixture-cwd');
    t.ok(config.targets.length > 0, `${file}: ${config.name}`);
  }
});

t.test('system.yaml: two portal groups on 127.0.0.1 and one portal on ::1', async (t) => {
  const config = await loadConfigFile(join(fixtures, 'system.yaml'), '/tmp/fixture-cwd');
  t.same(config.portals.map((p) => `${p.address}:${p.port}/${p.portalGroupTag}`), ['127.0.0.1:3260/1', '127.0.0.1:3262/2', '::1:3260/1']);
  t.equal(config.targets.length, 2);
  t.equal(config.stateDir, '/tmp/fixture-cwd/state/sim1');
  t.equal(config.cim.enabled, true);
});
