/**
 * Builds (or reuses) the kernel-initiator guest and boots it under QEMU against a portal on this
 * machine's loopback. The guest's /init (init.sh) prints GUEST-OK / GUEST-FAIL lines per step.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const QEMU = 'qemu-system-x86_64';

export type GuestBuild = { ok: true; dir: string } | { ok: false; reason: string };

export interface GuestRunOptions {
  /** Directory with vmlinuz and initrd.gz (from buildGuest). */
  dir: string;
  /** Host loopback port of the portal; the guest reaches it as 10.0.2.2:port. */
  port: number;
  iqn?: string;
  /** CHAP for the normal session as user:secret; mutualChap is the target's user:secret. */
  chap?: string;
  mutualChap?: string;
  discoveryChap?: string;
  /** 'CRC32C' to negotiate header and data digests. */
  digest?: string;
  /** Fault injection run (init.sh isim.faults): the bad 512-byte LBA and the LBA whose write drops the connection. */
  faults?: { badLba: number; dropLba: number };
  timeoutMs: number;
}

export interface GuestRunResult {
  ok: Set<string>;
  failed: Map<string, string>;
  done: { pass: number; fail: number } | undefined;
  timedOut: boolean;
  /** The whole serial console, ANSI escapes removed. */
  console: string;
  accel: string;
}

export function guestCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'iscsi-sim', 'guest');
}

/** Why QEMU cannot run here, or undefined when it can. */
export function qemuUnavailableReason(): string | undefined {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return `${QEMU} not runnable (install the Debian package qemu-system-x86)`;
  return undefined;
}

/** Runs build.sh; reuses the cached guest when build.sh and init.sh are unchanged. */
export function buildGuest(cacheDir = guestCacheDir(), timeoutMs = 300_000): Promise<GuestBuild> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(here, 'build.sh'), cacheDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `cannot run build.sh: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve({ ok: true, dir });
      else resolve({ ok: false, reason: `guest build failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' / ')}` });
    });
  });
}

function qemuArgs(dir: string, accel: string[], append: string, network: boolean): string[] {
  const net = network
    ? ['-netdev', 'user,id=n0,ipv6=off', '-device', 'virtio-net-pci,netdev=n0,romfile=']
    : ['-nic', 'none'];
  return ['-m', '512', '-nographic', '-no-reboot', '-kernel', join(dir, 'vmlinuz'), '-initrd', join(dir, 'initrd.gz'),
    ...accel, '-append', `console=ttyS0 quiet panic=-1 ${append}`, ...net];
}

function runQemu(args: string[], timeoutMs: number): Promise<{ console: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      const text = Buffer.concat(chunks).toString('latin1').replace(/\r/g, '').replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, '');
      resolve({ console: text, timedOut });
    };
    child.on('error', finish);
    child.on('close', finish);
  });
}

/**
 * KVM only when a guest really boots under it (nested KVM may hang here); TCG otherwise.
 * The answer is cached beside the guest, keyed by kernel release and QEMU version.
 */
async function chooseAccel(dir: string): Promise<string[]> {
  const tcg = ['-accel', 'tcg'];
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return tcg;
  }
  const version = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const key = `${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()} ${version}`;
  const cacheFile = join(dir, 'accel.json');
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; accel: string[] };
    if (cached.key === key) return cached.accel;
  } catch {
    // no cache yet
  }
  let accel = tcg;
  for (const candidate of [['-accel', 'kvm', '-cpu', 'host'], ['-accel', 'kvm']]) {
    const probe = await runQemu(qemuArgs(dir, candidate, 'isim.probe', false), 15_000);
    if (probe.console.includes('GUEST-PROBE-OK')) {
      accel = candidate;
      break;
    }
  }
  writeFileSync(cacheFile, JSON.stringify({ key, accel }));
  return accel;
}

/** Boots the guest once; resolves when it powers off or the timeout kills it. */
export async function runGuest(options: GuestRunOptions): Promise<GuestRunResult> {
  const accel = process.env.ISCSI_SIM_GUEST_ACCEL === 'tcg' ? ['-accel', 'tcg'] : await chooseAccel(options.dir);
  const params = [`isim.portal=10.0.2.2:${options.port}`];
  if (options.iqn) params.push(`isim.iqn=${options.iqn}`);
  if (options.chap) params.push(`isim.chap=${options.chap}`);
  if (options.mutualChap) params.push(`isim.mchap=${options.mutualChap}`);
  if (options.discoveryChap) params.push(`isim.dchap=${options.discoveryChap}`);
  if (options.digest) params.push(`isim.digest=${options.digest}`);
  if (options.faults) params.push(`isim.faults=${options.faults.badLba}:${options.faults.dropLba}`);
  const { console, timedOut } = await runQemu(qemuArgs(options.dir, accel, params.join(' '), true), options.timeoutMs);
  return { ...parseGuestConsole(console), timedOut, console, accel: accel.join(' ') };
}

export function parseGuestConsole(text: string): Pick<GuestRunResult, 'ok' | 'failed' | 'done'> {
  const ok = new Set<string>();
  const failed = new Map<string, string>();
  let done: GuestRunResult['done'];
  for (const line of text.split('\n')) {
    const m = /^GUEST-(OK|FAIL|DONE) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, kind, rest] = m;
    const step = rest.split(' ')[0];
    if (kind === 'OK') ok.add(step);
    else if (kind === 'FAIL') failed.set(step, rest);
    else {
      const d = /pass=(\d+) fail=(\d+)/.exec(rest);
      if (d) done = { pass: Number(d[1]), fail: Number(d[2]) };
    }
  }
  return { ok, failed, done };
}
