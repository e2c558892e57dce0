import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../../src/config/load.ts';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures');

// Issue 12: every fixture loads (docs/cim.md used a sim2 that no fixture defined).
t.test('every config in fixtures/ validates', async (t) => {
  const files = readdirSync(fixtures).filter((f) => /\.(ya?ml|json)$/.test(f));
  t.ok(files.length >= 5, `${files.length} fixtures: ${files.join(', ')}`);
  for (const file of files) {
    const config = await loadConfigFile(join(fixtures, file), '/tmp/fixture-cwd');
    t.ok(config.targets.length > 0, `${file}: ${config.name}`);
  }
});

t.test('every fixture follows the CIM-XML port convention: 5989 HTTPS, 5988 plain HTTP; an https peer is trusted', async (t) => {
  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.yaml'))) {
    const config = await loadConfigFile(join(fixtures, file), '/tmp/fixture-cwd');
    if (!config.cim.enabled) continue;
    if (config.cim.port === 5989) t.ok(config.cim.https, `${file}: port 5989 serves HTTPS`);
    if (config.cim.port === 5988) t.notOk(config.cim.https, `${file}: port 5988 serves plain HTTP`);
    for (const peer of config.peers) {
      if (peer.cimUrl.startsWith('https:')) t.ok(peer.ca !== undefined || peer.insecure === true, `${file}: peer ${peer.name} over HTTPS has a ca or insecure`);
      const port = new URL(peer.cimUrl).port;
      if (port === '5989') t.match(peer.cimUrl, /^https:/, `${file}: peer ${peer.name} on 5989 is reached over HTTPS`);
      if (port === '5988') t.match(peer.cimUrl, /^http:/, `${file}: peer ${peer.name} on 5988 is reached over plain HTTP`);
    }
  }
});

t.test('pair-sim1/pair-sim2: each names the other as a peer at its CIM port, as docs/cim.md uses them', async (t) => {
  const sim1 = await loadConfigFile(join(fixtures, 'pair-sim1.yaml'), '/tmp/fixture-cwd');
  const sim2 = await loadConfigFile(join(fixtures, 'pair-sim2.yaml'), '/tmp/fixture-cwd');
  const url = (c: typeof sim1) => `${c.cim.https ? 'https' : 'http'}://${c.cim.address}:${c.cim.port}`;
  t.same(sim1.peers.map((p) => [p.name, p.cimUrl]), [[sim2.name, url(sim2)]]);
  t.same(sim2.peers.map((p) => [p.name, p.cimUrl]), [[sim1.name, url(sim1)]]);
  const listens = [...sim1.portals, ...sim2.portals].map((p) => `${p.address}:${p.port}`).concat([sim1.cim, sim2.cim].map((c) => `${c.address}:${c.port}`));
  t.equal(new Set(listens).size, listens.length, 'no two listeners share an address:port');
  const docs = readFileSync(join(fixtures, '..', 'docs', 'cim.md'), 'utf8');
  const endpoints = new Set([sim1, sim2].flatMap((c) => c.targets.flatMap((tg) => tg.portalGroupTags.map((tag) => `${tg.iqn},t,0x${tag.toString(16)}`))));
  for (const named of docs.matchAll(/iqn\.2026-11\.org\.iscsi-sim:[a-z0-9.%-]+?(?:,|%2C)t(?:,|%2C)0x[0-9a-f]+/gi)) {
    const endpoint = decodeURIComponent(named[0]);
    t.ok(endpoints.has(endpoint), `docs/cim.md: ${endpoint} is an access point of the pair`);
  }
  t.match(docs, /fixtures\/pair-sim1\.yaml/);
});

t.test('the README\'s lab initiator examples name the lab primary\'s target', async (t) => {
  const primary = await loadConfigFile(join(fixtures, 'lab-primary.yaml'), '/tmp/fixture-cwd');
  const readme = readFileSync(join(fixtures, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Connecting initiators'), readme.indexOf('**From a QEMU guest**'));
  const named = new Set([...section.matchAll(/iqn\.2026-11\.org\.iscsi-sim:[a-z0-9.-]+[a-z0-9]/g)].map((m) => m[0]));
  t.same([...named].filter((iqn) => !iqn.endsWith(':sim1.data')), [primary.targets[0].iqn], 'the lab\'s target (plus sim1.data, named for system.yaml)');
});

t.test('system.yaml: two portal groups on 127.0.0.1 and one portal on ::1', async (t) => {
  const config = await loadConfigFile(join(fixtures, 'system.yaml'), '/tmp/fixture-cwd');
  t.same(config.portals.map((p) => `${p.address}:${p.port}/${p.portalGroupTag}`), ['127.0.0.1:3260/1', '127.0.0.1:3262/2', '::1:3260/1']);
  t.equal(config.targets.length, 2);
  t.equal(config.stateDir, '/tmp/fixture-cwd/state/sim1');
  t.equal(config.cim.enabled, true);
});
