/**
 * The lab as a supervisor, with real processes only (`iscsi-sim lab` through bin/iscsi-sim.js, its
 * redis-server, two `serve` systems, qemu-img as the initiator): kill -9 of the peer, then of Redis,
 * while qemu-img writes to the primary → the lab reports it, keeps running, restarts the part with its
 * ports and state, and the replica converges (sha256); a part taken down on purpose (`iscsi-sim site
 * down`) stays down until `site up`; one that keeps dying is given up on; a hung Redis is shown as `Redis unreachable (URL)`
 * with each system's local view, on the live line and by `iscsi-sim status`; Ctrl-C then leaves no
 * process. A lab killed with SIGKILL leaves no process either (its children die with it).
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { LabReady } from '../../src/lab/lab-runner.ts';
import { readPairReports } from '../../src/replication/status-reader.ts';
import { repoRoot, tempDir, waitFor } from '../unit/replication/helpers.ts';
import { pidAlive, startLab } from './support/lab-process.ts';
import { missingTools } from './support/tools.ts';

const MiB = 1024 * 1024;
const LUN_BYTES = 64 * MiB;
const skip = missingTools({ 'qemu-img': 'qemu-utils', 'redis-server': 'redis-server', ps: 'procps' });


/** The lab's child processes now: pid → command line. */
function childrenOf(pid: number): Map<number, string> {
  const listing = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  const children = new Map<number, string>();
  for (const row of listing.split('\n')) {
    const match = row.trim().match(/^(\d+)\s+(.*)$/);
    if (match) children.set(Number(match[1]), match[2]!);
  }
  return children;
}

function pidOf(children: Map<number, string>, pattern: RegExp): number {
  const found = [...children].find(([, args]) => pattern.test(args));
  if (!found) throw new Error(`no child matching ${pattern} among ${JSON.stringify([...children])}`);
  return found[0];
}


async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** qemu-img writes a fresh random image over the whole of the primary's LUN (write-through). */
async function writeToPrimary(dir: string, ready: LabReady, name: string): Promise<{ status: number | null; stderr: string }> {
  const source = join(dir, `${name}.img`);
  const file = await open(source, 'w');
  for (let at = 0; at < LUN_BYTES; at += 4 * MiB) await file.write(randomBytes(4 * MiB), 0, 4 * MiB, at);
  await file.close();
  const primary = ready.systems[0]!;
  const url = `iscsi://127.0.0.1:${primary.portals[0]!.port}/${primary.targets[0]!.iqn}/0`;
  const child = spawn('qemu-img', ['convert', '-n', '-t', 'writethrough', '-f', 'raw', '-O', 'raw', source, url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}

function iscsiSim(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const iscsiSimStatus = (stateDir: string) => iscsiSim(['status', '--state-dir', stateDir]);

async function converged(redis: Redis, since: number): Promise<boolean> {
  return waitFor(async () => {
    const [report] = await readPairReports(redis).catch(() => []);
    const status = report?.status;
    return !!status && Date.parse(status.updatedAt) > since && status.phase === 'streaming'
      && status.epochsBehind === 0 && status.dirtyGrains === 0;
  }, 120_000, 250);
}

t.test('lab: kill -9 of the peer and of Redis → reported, restarted, replica converges; Ctrl-C leaves no process', { skip }, async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-lab-sup-');
  const stateDir = join(dir, 'lab');
  const lab = await startLab(t, { stateDir, size: '64M' });
  const labPid = lab.process.pid!;
  const seen = new Set<number>(childrenOf(labPid).keys());
  const lunOf = (name: string) => join(stateDir, name, 'disk0.img');
  const redis = new Redis(lab.ready.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());

  // The peer dies while the primary takes writes.
  const peerPid = pidOf(childrenOf(labPid), /peer\/system\.yaml/);
  const peerDied = lab.line(/^lab: peer exited unexpectedly \(signal SIGKILL, pid (\d+)\); restarting it in/);
  const peerBack = lab.line(/^lab: peer restarted \(pid (\d+)\), ([\d.]+) s after it died$/);
  process.kill(peerPid, 'SIGKILL');
  const duringPeerOutage = await writeToPrimary(dir, lab.ready, 'a');
  t.equal(duringPeerOutage.status, 0, `the primary took 64 MiB while the peer was down ${duringPeerOutage.stderr}`);
  t.equal(Number((await peerDied)[1]), peerPid, 'the death is reported with its pid');
  const [, newPeerPid, peerSeconds] = await peerBack;
  t.comment(`peer restarted ${peerSeconds} s after kill -9`);
  t.not(Number(newPeerPid), peerPid, 'a new peer process');
  seen.add(Number(newPeerPid));
  t.ok(lab.process.exitCode === null, 'the lab kept running');
  const afterPeer = Date.now();
  t.ok(await converged(redis, afterPeer), 'the pair resynced and drained after the peer came back');
  t.equal(await sha256File(lunOf('peer')), await sha256File(lunOf('primary')), 'replica identical (sha256)');

  // Taken down on purpose (`iscsi-sim site down`), the peer stays down until `iscsi-sim site up`.
  const downPid = pidOf(childrenOf(labPid), /peer\/system\.yaml/);
  const down = iscsiSim(['site', 'down', 'peer', '--kill', '--state-dir', stateDir]);
  t.equal(down.status, 0, `site down ${down.stderr}`);
  t.match(down.stdout, `peer taken down on purpose (SIGKILL), pid ${downPid}; it stays down until \`iscsi-sim site up peer\``);
  t.notOk(pidAlive(downPid), 'the peer process is gone');
  const whileDown = await writeToPrimary(dir, lab.ready, 'c');
  t.equal(whileDown.status, 0, `the primary took 64 MiB while the peer was down on purpose ${whileDown.stderr}`);
  await lab.line(/^peer DOWN \(on purpose: iscsi-sim site up peer\) \| /, 30_000);
  t.pass('the live line shows the peer down on purpose');
  t.match(iscsiSim(['site', 'list', '--state-dir', stateDir]).stdout, /^peer +down +- +deaths 1$/m, 'site list: down, not restarted');
  t.notMatch(lab.output(), new RegExp(`peer exited unexpectedly \\(signal SIGKILL, pid ${downPid}\\)`), 'not taken for a crash');
  const up = iscsiSim(['site', 'up', 'peer', '--state-dir', stateDir]);
  t.equal(up.status, 0, `site up ${up.stderr}`);
  const [, upPid, upSeconds] = up.stdout.match(/^peer brought up \(pid (\d+)\) in ([\d.]+) s$/m) ?? [];
  t.ok(upPid, `brought up in ${upSeconds} s`);
  seen.add(Number(upPid));
  const afterUp = Date.now();
  t.ok(await converged(redis, afterUp), 'the pair resynced and drained after the peer was brought up');
  t.equal(await sha256File(lunOf('peer')), await sha256File(lunOf('primary')), 'replica identical (sha256)');

  // Redis dies while the primary takes writes.
  const redisPid = pidOf(childrenOf(labPid), /^redis-server /);
  const redisDied = lab.line(/^lab: redis exited unexpectedly \(signal SIGKILL, pid (\d+)\); restarting it in/);
  const redisBack = lab.line(/^lab: redis restarted \(pid (\d+)\), ([\d.]+) s after it died$/);
  process.kill(redisPid, 'SIGKILL');
  const duringRedisOutage = await writeToPrimary(dir, lab.ready, 'b');
  t.equal(duringRedisOutage.status, 0, `the primary took 64 MiB while Redis was down ${duringRedisOutage.stderr}`);
  t.equal(Number((await redisDied)[1]), redisPid);
  const [, newRedisPid, redisSeconds] = await redisBack;
  t.comment(`redis restarted ${redisSeconds} s after kill -9`);
  seen.add(Number(newRedisPid));
  const afterRedis = Date.now();
  t.ok(await converged(redis, afterRedis), 'the pair resynced and drained after Redis came back');
  t.equal(await sha256File(lunOf('peer')), await sha256File(lunOf('primary')), 'replica identical (sha256)');
  t.equal((await readPairReports(redis)).length, 1, 'the pair survived in the restarted Redis (same AOF)');

  // Redis hangs (SIGSTOP: it accepts connections but never answers; it has not exited, so it is not
  // restarted): the live line and `iscsi-sim status` say so and show what each system knows locally.
  const [pairId] = lab.ready.pairs.map((p) => p.pairId);
  const hungRedis = pidOf(childrenOf(labPid), /^redis-server /);
  const liveUnreachable = lab.line(new RegExp(`^Redis unreachable \\(${lab.ready.redisUrl}\\) \\| primary: ${pairId} .* source `), 30_000);
  process.kill(hungRedis, 'SIGSTOP');
  t.teardown(() => { if (pidAlive(hungRedis)) process.kill(hungRedis, 'SIGCONT'); });
  t.ok(await liveUnreachable, 'the live line says Redis unreachable (URL) and shows the primary\'s local view of the pair');
  const asked = Date.now();
  const hung = iscsiSimStatus(stateDir);
  const answeredMs = Date.now() - asked;
  t.ok(answeredMs < 15_000, `iscsi-sim status answered in ${answeredMs} ms with Redis hung (process start included)`);
  t.equal(hung.status, 1, 'status exits 1 when Redis cannot be read');
  t.match(hung.stdout, `Redis unreachable (${lab.ready.redisUrl}): no answer within 2 s`);
  t.match(hung.stdout, new RegExp(`primary: ${pairId} +primary/lun0 → peer/lun0 +async +admin=active +source +(Synchronized|Unsynchronized) +behind `), 'the primary\'s own view: its pair and copy state');
  t.match(hung.stdout, new RegExp(`peer: ${pairId} `), 'and the peer\'s');
  t.notMatch(hung.stdout + hung.stderr, /Connection is closed|no mirror pairs/);
  const liveBack = lab.line(new RegExp(`^${pairId} .* streaming`), 30_000);
  process.kill(hungRedis, 'SIGCONT');
  t.ok(await liveBack, 'the live line shows the pair from Redis again once it answers');

  // A part that keeps dying is reported and left down (5 deaths within a minute), the rest keeps
  // running; `site up` brings it back.
  let dying = pidOf(childrenOf(labPid), /^redis-server /);
  const givenUp = lab.line(/^lab: redis exited unexpectedly .*; it died 5 times within 60 s: not restarting it \(the rest keeps running\)$/, 90_000);
  let gaveUp = false;
  void givenUp.then(() => { gaveUp = true; }, () => undefined);
  for (let kills = 0; kills < 5 && !gaveUp; kills++) {
    const back = lab.line(/^lab: redis restarted \(pid (\d+)\)/, 30_000);
    process.kill(dying, 'SIGKILL');
    const next = await Promise.race([back, givenUp.then(() => undefined)]);
    if (next) { dying = Number(next[1]); seen.add(dying); }
  }
  await givenUp;
  t.pass('redis killed again and again: given up on, not restarted for ever');
  t.match(iscsiSim(['site', 'list', '--state-dir', stateDir]).stdout, /^redis +given-up +- +deaths \d+$/m, 'site list: given-up');
  t.ok(lab.process.exitCode === null && pidAlive(pidOf(childrenOf(labPid), /primary\/system\.yaml/)), 'the lab and the systems keep running');
  const redisUp = iscsiSim(['site', 'up', 'redis', '--state-dir', stateDir]);
  t.match(redisUp.stdout, /^redis brought up \(pid \d+\) in [\d.]+ s$/m, `site up brings it back ${redisUp.stderr}`);

  for (const pid of childrenOf(labPid).keys()) seen.add(pid);
  lab.process.kill('SIGINT');
  t.equal(await lab.exited, 0, 'Ctrl-C stops the lab with status 0');
  t.ok(await waitFor(() => [...seen].every((pid) => !pidAlive(pid)), 10_000, 50), `no child process left (${[...seen].join(', ')})`);

  // Everything stopped: Redis refuses, the systems do not answer; the state dirs still tell the pairs.
  const afterStop = iscsiSimStatus(stateDir);
  t.equal(afterStop.status, 1);
  t.match(afterStop.stdout, `Redis unreachable (${lab.ready.redisUrl}): connect ECONNREFUSED`);
  t.match(afterStop.stdout, new RegExp(`primary: ${pairId} +primary/lun0 → peer/lun0 +async +admin=active \\(not answering on http://127\\.0\\.0\\.1:\\d+/metrics`), 'the pair from the primary\'s state dir');
});

t.test('lab: killed with SIGKILL, its redis-server and systems die with it', { skip }, async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-lab-kill-');
  const lab = await startLab(t, { stateDir: join(dir, 'lab'), size: '16M' });
  const children = childrenOf(lab.process.pid!);
  t.ok([...children.values()].some((args) => args.startsWith('redis-server')), 'redis-server is a child');
  t.equal([...children.values()].filter((args) => args.includes(' serve --config ')).length, 2, 'both systems are children');
  lab.process.kill('SIGKILL');
  await lab.exited;
  const started = Date.now();
  t.ok(await waitFor(() => [...children.keys()].every((pid) => !pidAlive(pid)), 20_000, 50), `no child left (${[...children.keys()].join(', ')})`);
  t.comment(`children gone ${Date.now() - started} ms after the lab was SIGKILLed`);
});
