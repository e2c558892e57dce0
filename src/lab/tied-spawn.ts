/**
 * Spawns a child that dies with this process, however this process ends (Ctrl-C, SIGTERM, SIGKILL, a
 * crash): the child runs under util-linux `setpriv --pdeathsig SIG`, which sets PR_SET_PDEATHSIG and
 * then execs the command (same PID), so the kernel signals the child when we are gone. This works for
 * any binary (redis-server cannot call prctl itself). TERM lets redis-server sync its AOF; a system
 * gets KILL, which it survives by design (acknowledged writes are in the file and the dirty map), and
 * which no stuck shutdown can ignore. Without setpriv the child is spawned plainly and `tiedToParent`
 * says so.
 *
 * The child gets its own process group: Ctrl-C in a terminal signals the whole foreground group, and
 * the parent must be the one that stops its children (in order, and without mistaking their exit for a
 * crash to restart from).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

let setprivPath: string | null | undefined;

function setpriv(): string | undefined {
  if (setprivPath === undefined) {
    const found = spawnSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore', timeout: 5000 });
    setprivPath = process.platform === 'linux' && found.status === 0 ? 'setpriv' : null;
  }
  return setprivPath ?? undefined;
}

/** Whether children spawned here die with this process (Linux with util-linux setpriv). */
export function tiedToParent(): boolean {
  return setpriv() !== undefined;
}

export function spawnTied(command: string, args: readonly string[], options: SpawnOptions, deathSignal: 'TERM' | 'KILL'): ChildProcess {
  const wrapper = setpriv();
  const ownGroup = { ...options, detached: true };
  if (wrapper === undefined) return spawn(command, [...args], ownGroup);
  return spawn(wrapper, ['--pdeathsig', deathSignal, '--', command, ...args], ownGroup);
}
