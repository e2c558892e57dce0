/**
 * The CIM-XML server's TLS certificate: the PEM files named in the config, or a self-signed pair made
 * once, on the first start over HTTPS, in the system's state dir (kept for later starts, so clients
 * that trust it keep trusting it). Made with the openssl command line tool (Debian package `openssl`):
 * Node's crypto makes keys but not X.509 certificates.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import type { CimTlsConfig } from '../../config/types.ts';

export interface CimCertificate {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The certificate's PEM file (what a client passes as its CA to trust this server). */
  readonly certFile: string;
  readonly selfSigned: boolean;
}

export function selfSignedCertificateFiles(stateDir: string): { cert: string; key: string } {
  const dir = join(stateDir, 'cim-tls');
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

const OPENSSL_TIMEOUT_MS = 30_000;
const VALID_DAYS = 3650;

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

async function readRequired(path: string, field: string): Promise<Buffer> {
  const data = await readIfPresent(path);
  if (data === undefined) throw new Error(`${field}: ${path} does not exist`);
  return data;
}

/**
 * subjectAltName entries: loopback, this host's name and the address the server binds. A wildcard bind
 * (0.0.0.0, ::) serves every address of the host, so each interface address is named too: a peer on
 * another host reaches it by one of them (link-local IPv6 is left out: it needs a zone). The certificate
 * is made once, so an address the host gets later is not in it (remove cim-tls/ to make a new one).
 */
export function subjectAltNames(bindAddress: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  const names = new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
  if (/^[A-Za-z0-9.-]+$/.test(hostname())) names.add(`DNS:${hostname()}`);
  if (bindAddress === '0.0.0.0' || bindAddress === '::' || bindAddress === '') {
    for (const info of Object.values(interfaces).flat()) {
      if (info && !info.address.toLowerCase().startsWith('fe80:')) names.add(`IP:${info.address}`);
    }
  } else if (isIP(bindAddress)) names.add(`IP:${bindAddress}`);
  else if (/^[A-Za-z0-9.-]+$/.test(bindAddress)) names.add(`DNS:${bindAddress}`);
  return [...names];
}

function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', [...args], { timeout: OPENSSL_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      if (error === null) return resolve();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') reject(new Error('the openssl command is not installed (Debian: apt-get install openssl)'));
      else if (error.killed) reject(new Error(`openssl did not finish within ${OPENSSL_TIMEOUT_MS / 1000} s`));
      else reject(new Error(`openssl failed: ${String(stderr).trim().split('\n').slice(-3).join(' ') || error.message}`));
    });
  });
}

async function makeSelfSigned(files: { cert: string; key: string }, commonName: string, bindAddress: string): Promise<void> {
  await mkdir(join(files.cert, '..'), { recursive: true, mode: 0o700 });
  const tmpKey = `${files.key}.${process.pid}.tmp`;
  const tmpCert = `${files.cert}.${process.pid}.tmp`;
  try {
    await openssl([
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(VALID_DAYS),
      '-keyout', tmpKey, '-out', tmpCert,
      '-subj', `/O=iscsi-sim/CN=${commonName}`,
      '-addext', `subjectAltName=${subjectAltNames(bindAddress).join(',')}`,
    ]);
    await chmod(tmpKey, 0o600);
    // Key first: a cert.pem on disk always has its key beside it.
    await rename(tmpKey, files.key);
    await rename(tmpCert, files.cert);
  } finally {
    await rm(tmpKey, { force: true });
    await rm(tmpCert, { force: true });
  }
}

/**
 * The configured PEM pair, or the state dir's self-signed pair (made now when absent). Errors name the
 * file or the config field, and say how to get past a missing openssl.
 */
export async function loadCimCertificate(tls: CimTlsConfig, stateDir: string, systemName: string, bindAddress: string): Promise<CimCertificate> {
  if (tls.cert !== undefined && tls.key !== undefined) {
    return { cert: await readRequired(tls.cert, 'cim.https.cert'), key: await readRequired(tls.key, 'cim.https.key'), certFile: tls.cert, selfSigned: false };
  }
  const files = selfSignedCertificateFiles(stateDir);
  let cert = await readIfPresent(files.cert);
  let key = await readIfPresent(files.key);
  if (cert !== undefined && key === undefined) throw new Error(`${files.cert} exists but its key ${files.key} does not: remove ${files.cert} to make a new pair`);
  if (cert === undefined) {
    try {
      await makeSelfSigned(files, systemName, bindAddress);
    } catch (err) {
      throw new Error(`cannot make the CIM server's self-signed certificate in ${join(files.cert, '..')}: ${(err as Error).message}; or set cim.https.cert and cim.https.key`);
    }
    cert = await readRequired(files.cert, 'self-signed certificate');
    key = await readRequired(files.key, 'self-signed key');
  }
  return { cert, key: key!, certFile: files.cert, selfSigned: true };
}
