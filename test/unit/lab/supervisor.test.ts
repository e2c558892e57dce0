import t from 'tap';
import { Supervisor, type Incarnation, type PartSpec, type SupervisorEvent } from '../../../src/lab/supervisor.ts';
import { waitFor } from '../../support/wait-for.ts';

/** A part whose processes the test kills by hand. */
function fakePart(name: string, options: { failLaunches?: number } = {}) {
  let pid = 100;
  let failures = options.failLaunches ?? 0;
  const alive: Array<{ pid: number; die: (how: string) => void; stopped: boolean }> = [];
  let launches = 0;
  const spec: PartSpec = {
    name,
    launch: async () => {
      launches++;
      if (launches > 1 && failures > 0) { failures--; throw new Error('exited (1) before it was ready'); }
      let die!: (how: string) => void;
      const exited = new Promise<string>((resolve) => { die = resolve; });
      const proc = { pid: ++pid, die, stopped: false };
      alive.push(proc);
      const incarnation: Incarnation = {
        pid: proc.pid, exited,
        stop: async () => { proc.stopped = true; die('code 0'); },
        kill: async () => { proc.stopped = true; die('signal SIGKILL'); },
      };
      return incarnation;
    },
  };
  return { spec, alive, launches: () => launches };
}

const policy = { backoffMs: [5, 10, 20], maxDeaths: 3, windowMs: 60_000 };

async function until(check: () => boolean, ms = 5000): Promise<void> {
  if (!(await waitFor(check, ms, 2))) throw new Error('condition not met in time');
}

t.test('a part that dies is reported and restarted; the others are untouched', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor((e) => events.push(e), policy);
  const redis = fakePart('redis');
  const peer = fakePart('peer');
  await supervisor.add(redis.spec);
  await supervisor.add(peer.spec);
  peer.alive[0]!.die('signal SIGKILL');
  await until(() => events.some((e) => e.kind === 'restarted'));
  t.same(events.map((e) => [e.part, e.kind]), [['peer', 'died'], ['peer', 'restarted']]);
  t.match(events[0]!.message, /^peer exited unexpectedly \(signal SIGKILL, pid 101\); restarting it in 5 ms$/);
  t.equal(peer.launches(), 2);
  t.equal(redis.launches(), 1, 'redis untouched');
  t.same(supervisor.status().map((s) => [s.name, s.state, s.deaths]), [['redis', 'up', 0], ['peer', 'up', 1]]);
  await supervisor.stop();
  t.ok(redis.alive[0]!.stopped && peer.alive[1]!.stopped, 'stop() stops every current process');
  t.same(supervisor.status().map((s) => s.state), ['stopped', 'stopped']);
  t.equal(events.length, 2, 'stopping is not a death');
});

t.test('a part that keeps dying is given up after maxDeaths within the window', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor((e) => events.push(e), policy);
  const peer = fakePart('peer');
  await supervisor.add(peer.spec);
  for (let death = 0; death < 3; death++) {
    await until(() => peer.alive.length === death + 1);
    peer.alive[death]!.die('code 1');
  }
  await until(() => events.some((e) => e.kind === 'given-up'));
  t.equal(peer.launches(), 3, 'restarted twice, then left down');
  t.match(events.at(-1)!.message, /died 3 times within 60 s: not restarting it/);
  t.equal(supervisor.status()[0]!.state, 'given-up');
  await supervisor.stop();
});

t.test('a restart that fails counts as a death and backs off further', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor((e) => events.push(e), { ...policy, maxDeaths: 5 });
  const peer = fakePart('peer', { failLaunches: 2 });
  await supervisor.add(peer.spec);
  peer.alive[0]!.die('signal SIGKILL');
  await until(() => events.some((e) => e.kind === 'restarted'));
  t.same(events.map((e) => e.kind), ['died', 'restart-failed', 'died', 'restart-failed', 'died', 'restarted']);
  t.match(events[2]!.message, /restarting it in 10 ms/);
  t.equal(supervisor.status()[0]!.deaths, 3);
  await supervisor.stop();
});

t.test('stop() cancels a pending restart', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor((e) => events.push(e), { backoffMs: [60_000], maxDeaths: 5, windowMs: 60_000 });
  const peer = fakePart('peer');
  await supervisor.add(peer.spec);
  peer.alive[0]!.die('signal SIGKILL');
  await until(() => events.length === 1);
  await supervisor.stop();
  t.equal(peer.launches(), 1, 'not launched again');
  t.equal(supervisor.status()[0]!.state, 'stopped');
});

t.test('a part taken down on purpose stays down until brought up', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor((e) => events.push(e), policy);
  const peer = fakePart('peer');
  await supervisor.add(peer.spec);
  t.match(await supervisor.takeDown('peer', true), /^peer taken down on purpose \(SIGKILL\), pid 101; it stays down until `iscsi-sim site up peer`$/);
  t.ok(peer.alive[0]!.stopped);
  // Deliberate time, to prove a negative: 10× the first back-off passes and no restart came.
  // eslint-disable-next-line no-restricted-syntax -- a window of time, not a wait for a state
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(peer.launches(), 1, 'not restarted');
  t.same(supervisor.status().map((s) => [s.state, s.deaths]), [['down', 0]], 'not counted as a death');
  t.match(await supervisor.takeDown('peer', false), /already down/);
  t.match(await supervisor.bringUp('peer'), /^peer brought up \(pid 102\) in \d+\.\d s$/);
  t.equal(supervisor.status()[0]!.state, 'up');
  t.same(events.map((e) => e.kind), ['taken-down', 'brought-up']);
  await t.rejects(supervisor.takeDown('nope', false), /no part named "nope" \(the lab has peer\)/);
  peer.alive[1]!.die('signal SIGKILL');
  await until(() => events.some((e) => e.kind === 'restarted'));
  t.pass('after bringUp it is supervised again');
  await supervisor.stop();
});

// A system that could not flush its LUNs on the way down was reported as a clean stop (lab exit 0).
t.test('stop() stops every part even when one fails, then rejects naming it', async (t) => {
  const supervisor = new Supervisor(() => undefined, policy);
  const failing = fakePart('primary');
  const redis = fakePart('redis');
  await supervisor.add({ ...failing.spec, launch: async (signal) => {
    const incarnation = await failing.spec.launch(signal);
    return { ...incarnation, stop: async () => { await incarnation.stop(); throw new Error('primary stopped with errors (code 1; see system.log)'); } };
  } });
  await supervisor.add({ ...redis.spec, stopLast: true });
  await t.rejects(supervisor.stop(), { message: /primary stopped with errors \(code 1/ });
  t.ok(failing.alive[0]?.stopped, 'the failing part was stopped');
  t.ok(redis.alive[0]?.stopped, 'the part that stops last was stopped too');
});
