/**
 * Systems on separate hosts: the primary, the peer and redis-server each in its own network namespace
 * made here (a star of veths on a bridge in a hub namespace, TEST-NET-2 addresses only), every
 * listener on its namespace's 198.51.100.x address. SendTargets from inside the primary's namespace,
 * CIM peers reaching each other over HTTPS with user and password (no allowUnauthenticated), the
 * mirror created through the primary's CIM server, writes by qemu-io in the primary's namespace, and
 * the two LUN files compared by sha256. Skipped only where namespaces cannot be created.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfSignedCertificateFiles } from '../../src/cim/server/certificate.ts';
import { spawnTied } from '../../src/lab/tied-spawn.ts';
import { sha256File } from './support/dr-rig.ts';
import { createNetnsStar, leftoverNamespaces, netnsUnavailable, removeStaleNamespaces, type NetnsStar } from './support/netns.ts';
import { startSystem, type RunningSystem } from './support/system-process.ts';
import { missingTools } from './support/tools.ts';
import { tempDir, waitFor } from '../unit/replication/helpers.ts';

const skip = missingTools({ ip: 'iproute2', ss: 'iproute2', 'redis-server': 'redis-server', 'redis-cli': 'redis-server', 'iscsi-ls': 'libiscsi-bin', 'qemu-io': 'qemu-utils' })
  ?? netnsUnavailable();

const MiB = 1024 * 1024;
const REDIS_PASSWORD = 'separate-hosts-redis';
const CIM_USER = 'lab';
const CIM_PASSWORD = 'separate-hosts-cim';
const ISCSI_PORT = 3260;
const CIM_PORT = 5989;
const REDIS_PORT = 6379;
const CIM_SCRIPT = fileURLToPath(new URL('./support/netns-cim.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

t.test('primary, peer and Redis in three network namespaces', { skip, timeout: 120_000 }, async (t) => {
  const started = Date.now();
  removeStaleNamespaces();
  const dir = await tempDir(t, 'iscsi-sim-netns-');
  const net: NetnsStar = createNetnsStar(['primary', 'peer', 'redis']);
  const systems: RunningSystem[] = [];
  let stopRedis = async (): Promise<void> => undefined;
  // One teardown, in order: the processes first, then the namespaces they ran in.
  t.teardown(async () => {
    try {
      for (const system of systems.reverse()) await system.stop();
      await stopRedis();
    } finally {
      net.remove();
      t.comment(`separate-hosts: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  });
  const { primary: primaryHost, peer: peerHost, redis: redisHost } = net.hosts;

  // redis-server in its own namespace, password required (it is reachable from the other namespaces);
  // tied to this process (it dies with it), and `ip netns exec` execs it, so the pid is redis-server's.
  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir);
  const redis = spawnTied('ip', ['netns', 'exec', redisHost.ns, 'redis-server', '--bind', redisHost.address, '--port', String(REDIS_PORT),
    '--requirepass', REDIS_PASSWORD, '--dir', redisDir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] }, 'TERM');
  const redisExited = new Promise<void>((done) => redis.once('exit', () => done()));
  stopRedis = async () => {
    if (redis.exitCode !== null || redis.signalCode !== null) return;
    redis.kill('SIGTERM');
    const killer = setTimeout(() => redis.kill('SIGKILL'), 10_000);
    await redisExited;
    clearTimeout(killer);
  };
  let redisLog = '';
  redis.stdout!.on('data', (chunk: Buffer) => (redisLog += chunk.toString()));
  t.ok(await waitFor(() => redisLog.includes('Ready to accept connections'), 20_000), 'redis-server ready in its namespace');
  const redisUrl = `redis://:${REDIS_PASSWORD}@${redisHost.address}:${REDIS_PORT}`;

  const systemDirs = { primary: join(dir, 'primary'), peer: join(dir, 'peer') };
  for (const d of Object.values(systemDirs)) mkdirSync(d);
  const certOf = (name: 'primary' | 'peer') => selfSignedCertificateFiles(join(systemDirs[name], 'state')).cert;
  const configOf = (name: 'primary' | 'peer', other: 'primary' | 'peer') => ({
    name,
    portals: [`${net.hosts[name].address}:${ISCSI_PORT}`],
    targets: [{ iqn: `iqn.2026-11.org.iscsi-sim:${name}.disk`, luns: [{ lun: 0, file: 'disk0.img', size: '16M' }] }],
    cim: { address: net.hosts[name].address, port: CIM_PORT, https: true, user: CIM_USER, password: CIM_PASSWORD },
    peers: [{ name: other, cimUrl: `https://${net.hosts[other].address}:${CIM_PORT}`, ca: certOf(other), user: CIM_USER, password: CIM_PASSWORD }],
    redisUrl,
  });
  const primary = await startSystem({ config: configOf('primary', 'peer'), netns: primaryHost.ns, dir: systemDirs.primary });
  systems.push(primary);
  const peer = await startSystem({ config: configOf('peer', 'primary'), netns: peerHost.ns, dir: systemDirs.peer });
  systems.push(peer);
  t.equal(primary.summary.portals[0].address, primaryHost.address, 'primary portal on its namespace address');
  t.equal(primary.summary.cimUrl, `https://${primaryHost.address}:${CIM_PORT}`, 'primary CIM URL names its namespace address');

  for (const name of ['primary', 'peer', 'redis']) {
    const listening = await net.exec(name, 'ss', ['-ltnH']);
    const locals = listening.stdout.trim().split('\n').filter((line) => line !== '').map((line) => line.trim().split(/\s+/)[3]);
    t.ok(locals.length > 0 && locals.every((local) => local.startsWith(`${net.hosts[name].address}:`)), `${name}: every listener on ${net.hosts[name].address} (${locals.join(' ')})`);
  }

  // SendTargets from the primary's namespace answers the address the initiator reached.
  const discovery = await net.exec('primary', 'iscsi-ls', ['-s', `iscsi://${primaryHost.address}:${ISCSI_PORT}`]);
  t.equal(discovery.code, 0, `iscsi-ls: ${discovery.stderr}`);
  t.match(discovery.stdout, `Target:${primary.summary.targets[0].iqn} Portal:${primaryHost.address}:${ISCSI_PORT},1`, 'SendTargets answers the primary namespace address');
  t.notMatch(discovery.stdout, /127\.0\.0\.1|0\.0\.0\.0/, 'no loopback or wildcard address in the answer');

  const cimInput = (name: 'primary' | 'peer') => JSON.stringify({
    cimUrl: `https://${net.hosts[name].address}:${CIM_PORT}`, ca: certOf(name), user: CIM_USER, password: CIM_PASSWORD,
    primary: primary.summary, peer: peer.summary, system: name,
  });
  const cimScript = (name: 'primary' | 'peer', extra: Record<string, unknown> = {}) =>
    net.exec(name, process.execPath, ['--import', TSX, CIM_SCRIPT, JSON.stringify({ ...JSON.parse(cimInput(name)), ...extra })], 90_000);
  for (const [name, other] of [['primary', 'peer'], ['peer', 'primary']] as const) {
    const peers = await cimScript(name, { peers: true });
    t.match(peers.stdout, new RegExp(`GetPeerSystems 0 reachable: ${other}\\b`), `${name} reaches ${other}'s CIM server across namespaces: ${peers.stdout.trim()} ${peers.stderr.trim()}`);
  }

  // The peer has registered its volume in Redis (asked from Redis's own namespace).
  t.ok(await waitFor(async () => {
    const found = await net.exec('redis', 'redis-cli', ['-h', redisHost.address, '-p', String(REDIS_PORT), '--no-auth-warning', '-a', REDIS_PASSWORD, 'HLEN', 'iscsi-sim:volumes:peer'], 10_000);
    return Number(found.stdout.trim()) > 0;
  }, 30_000), 'peer volume registered in Redis');

  const url = `iscsi://${primaryHost.address}:${ISCSI_PORT}/${primary.summary.targets[0].iqn}/0`;
  const qemuIo = async (command: string) => {
    const result = await net.exec('primary', 'qemu-io', ['-f', 'raw', '-c', command, url], 60_000);
    return { ok: result.code === 0 && !/failed|error|denied/i.test(result.stdout + result.stderr), output: result.stdout + result.stderr };
  };
  const before = await qemuIo('write -P 0x11 1M 3M');
  t.ok(before.ok, `write before the mirror (initial sync): ${before.output.trim()}`);

  const created = await cimScript('primary');
  t.equal(created.code, 0, `mirror created through the primary's CIM server: ${created.stdout.trim()} ${created.stderr.trim()}`);

  const after = await qemuIo('write -P 0x5a 8M 4M');
  t.ok(after.ok, `write after the mirror (streaming): ${after.output.trim()}`);
  const primaryFile = primary.summary.targets[0].luns[0].file!;
  const peerFile = peer.summary.targets[0].luns[0].file!;
  const primarySha = await sha256File(primaryFile);
  let peerSha = '';
  t.ok(await waitFor(async () => (peerSha = await sha256File(peerFile)) === primarySha, 60_000, 250), 'replica converged');
  t.equal(peerSha, primarySha, `sha256 of both LUN files (${(16 * MiB) / MiB} MiB)`);
  // The replica as an initiator on the peer's host sees it, through the peer's portal (read-only).
  const peerUrl = `iscsi://${peerHost.address}:${ISCSI_PORT}/${peer.summary.targets[0].iqn}/0`;
  const readBack = await net.exec('peer', 'qemu-io', ['-r', '-f', 'raw', '-c', 'read -P 0x5a 8M 4M', peerUrl], 60_000);
  t.ok(readBack.code === 0 && !/failed|error|mismatch/i.test(readBack.stdout + readBack.stderr), `read back through the peer's portal in its namespace: ${(readBack.stdout + readBack.stderr).trim()}`);
  for (const system of systems) t.notMatch(system.output(), /127\.0\.0\.1|0\.0\.0\.0/, `${system.summary.name} names no loopback or wildcard address in its output`);
});

t.test('the namespaces are gone afterwards', { skip }, async (t) => {
  t.same(leftoverNamespaces(), [], 'no namespace of this run left');
});
