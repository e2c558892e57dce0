/**
 * Issue 12: `iscsi-sim cim` defaulted to port 5988 and, unlike `status`, did not read the lab's
 * lab.json; `cim create-collection --wait` did not print the new collection's ID.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { resolveCimUrl } from '../../../src/cli/lab-endpoint.ts';
import { CLS } from '../../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../../src/cim/types.ts';
import { cliPath } from '../../integration/support/system-process.ts';
import { IQN_A, IQN_B, startTwoSystems } from '../cim/support/two-systems.ts';

async function cli(args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

t.test('resolveCimUrl: --url, else the lab\'s system, else the default', async (t) => {
  const dir = t.testdir({ 'lab.json': JSON.stringify({ systems: [{ name: 'peer', role: 'peer', cimUrl: 'http://127.0.0.1:2' }, { name: 'primary', role: 'primary', cimUrl: 'http://127.0.0.1:1' }] }) });
  const fallback = 'http://127.0.0.1:5988';
  t.equal(await resolveCimUrl({ url: 'http://x:9', stateDir: dir, fallback }), 'http://x:9');
  t.equal(await resolveCimUrl({ stateDir: dir, fallback }), 'http://127.0.0.1:1', 'the primary by default');
  t.equal(await resolveCimUrl({ system: 'peer', stateDir: dir, fallback }), 'http://127.0.0.1:2');
  await t.rejects(resolveCimUrl({ system: 'sim9', stateDir: dir, fallback }), /has no system sim9 \(it has peer, primary\)/);
  t.equal(await resolveCimUrl({ stateDir: join(dir, 'none'), fallback }), fallback, 'no lab: the default');
  await t.rejects(resolveCimUrl({ system: 'peer', stateDir: join(dir, 'none'), fallback }), /--system peer: no lab in .*lab\.json not found/);
});

t.test('the cim command next to a lab, and the ID of a collection made with --wait', async (t) => {
  const s = await startTwoSystems();
  t.teardown(() => s.close());
  const cwd = t.testdir({ state: { lab: { 'lab.json': JSON.stringify({ systems: [{ name: 'sysa', role: 'primary', cimUrl: s.a.url }, { name: 'sysb', role: 'peer', cimUrl: s.b.url }] }) } } });

  const peers = await cli(['cim', 'peers'], cwd);
  t.equal(peers.code, 0, 'no --url: the lab\'s primary from ./state/lab/lab.json', { stderr: peers.stderr });
  t.match(peers.stdout, /GetPeerSystems: 0/);
  const onPeer = await cli(['cim', '--system', 'sysb', 'ei', 'CIM_ComputerSystem'], cwd);
  t.equal(onPeer.code, 0, onPeer.stderr);
  t.match(onPeer.stdout, /Name="sysb"/, '--system picks the lab\'s other system');

  const created = await cli(['cim', '--url', s.a.url, 'create-collection', '--name', 'cli-wait', '--local', `${IQN_A},t,0x1`,
    '--remote-system', 'sysb', '--remote', `${IQN_B},t,0x1`, '--wait'], cwd);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /CreateRemoteReplicationCollection: 0/);
  const id = /^InstanceID=(.+)$/m.exec(created.stdout)?.[1];
  t.ok(id, 'the new collection\'s InstanceID is printed', { stdout: created.stdout });
  const collections = await s.client.enumerateInstances(TARGET_NAMESPACE, CLS.collection);
  const made = collections.find((c) => c.path.keys.InstanceID === id);
  t.ok(made, `${id} is a collection on the server`);
  t.same(made?.instance.properties.find((p) => p.name === 'ElementName')?.value, { kind: 'value', text: 'cli-wait' });
});
