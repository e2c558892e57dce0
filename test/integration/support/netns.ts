/**
 * Linux network namespaces made by a test: one namespace per "host", each joined by a veth pair to a
 * bridge in a hub namespace, addressed from TEST-NET-2 (198.51.100.0/24, RFC 5737) only. Nothing
 * touches the test's own namespace: every interface is created inside the namespaces. Every namespace
 * is deleted by remove(), at process exit if remove() never ran, and after a SIGKILL by the next run's
 * removeStaleNamespaces().
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run, type CommandResult } from './tools.ts';

export const TEST_NET_2 = '198.51.100';

export interface NetnsHost {
  /** Namespace name (`ip netns exec <ns> …`). */
  readonly ns: string;
  /** Its one address, 198.51.100.N. */
  readonly address: string;
}

export interface NetnsStar {
  readonly hosts: Readonly<Record<string, NetnsHost>>;
  /** Runs a program inside a host's namespace (`ip netns exec`), bounded by timeoutMs. */
  exec(host: string, command: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
  /** Deletes every namespace made (idempotent). */
  remove(): void;
}

function ip(args: readonly string[]): void {
  const result = spawnSync('ip', [...args], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(result.stderr || result.error?.message || `status ${result.status}`).trim()}`);
}

/** Undefined when this process can make (and delete) a network namespace, else why not. */
export function netnsUnavailable(): string | undefined {
  const probe = `isim-probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (made.error) return `cannot run ip (apt-get install iproute2): ${made.error.message}`;
  if (made.status !== 0) return `cannot create a network namespace (needs root or CAP_SYS_ADMIN): ${made.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  const bridge = spawnSync('sh', ['-c', `ip netns add ${probe} && ip -n ${probe} link add br0 type bridge`], { encoding: 'utf8', timeout: 10_000 });
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  if (bridge.status !== 0) return `cannot create a bridge in a network namespace: ${bridge.stderr.trim()}`;
  return undefined;
}

/**
 * Makes one namespace per name (addresses .1, .2, … in order) plus the hub. Names are unique per run
 * (pid and random suffix), so runs side by side do not collide; a failure half-way removes what was made.
 */
export function createNetnsStar(names: readonly string[]): NetnsStar {
  const run_ = `isim-${process.pid}-${randomBytes(3).toString('hex')}`;
  const hub = `${run_}-hub`;
  const made: string[] = [];
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    for (const ns of made.reverse()) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  };
  process.once('exit', remove);
  const hosts: Record<string, NetnsHost> = {};
  try {
    ip(['netns', 'add', hub]);
    made.push(hub);
    ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', hub, 'link', 'set', 'br0', 'up']);
    names.forEach((name, index) => {
      const ns = `${run_}-${name}`;
      const address = `${TEST_NET_2}.${index + 1}`;
      ip(['netns', 'add', ns]);
      made.push(ns);
      // Both ends are made inside namespaces of this run: hN in the hub, eth0 in the host's namespace.
      ip(['-n', hub, 'link', 'add', `h${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', hub, 'link', 'set', `h${index}`, 'master', 'br0', 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      hosts[name] = { ns, address };
    });
  } catch (error) {
    remove();
    throw error;
  }
  return {
    hosts,
    exec: (host, command, args, timeoutMs = 60_000) => run('ip', ['netns', 'exec', hosts[host].ns, command, ...args], timeoutMs),
    remove,
  };
}

/**
 * Deletes namespaces left by runs whose process is gone (a test killed before its teardown): their
 * names carry the pid (`isim-<pid>-…`). Namespaces of live processes are left alone.
 */
export function removeStaleNamespaces(): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  const stale = listed.split('\n').map((line) => line.split(' ')[0]).filter((name) => {
    const pid = /^isim-(?:probe-)?(\d+)-/.exec(name)?.[1];
    return pid !== undefined && !processAlive(Number(pid));
  });
  for (const ns of stale) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  return stale;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every namespace name of this process's runs still present (what a test checks after remove()). */
export function leftoverNamespaces(): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  return listed.split('\n').map((line) => line.split(' ')[0]).filter((name) => name.startsWith(`isim-${process.pid}-`));
}
