/**
 * The lab's two system configs, from fixtures/lab-primary.yaml and fixtures/lab-peer.yaml with every
 * port derived from one base port (so several labs run side by side) and everything under the lab's
 * state dir. Without --base-port the fixtures' own ports are used.
 *
 * A reused state dir keeps its LUN files: their size wins, and a --size that differs is refused (a
 * mirrored LUN is not resized behind the pair's back), never silently ignored or applied.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { formatSize, parseSize } from '../config/size.ts';
import { selfSignedCertificateFiles } from '../cim/server/certificate.ts';

export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

export interface LabPorts {
  readonly primaryIscsi: number;
  readonly peerIscsi: number;
  readonly primaryCim: number;
  readonly peerCim: number;
  readonly redis: number;
  readonly primaryMetrics: number;
  readonly peerMetrics: number;
  /** The lab's own dashboard (both systems on one page). */
  readonly dashboard: number;
  /** First port of an embedded Redis Cluster (--redis-cluster): its nodes take this and the next ones. */
  readonly redisCluster: number;
}

export function labPorts(basePort: number | undefined): LabPorts {
  if (basePort === undefined) {
    // CIM-XML over HTTPS: 5989 is its conventional port (5988 is plain HTTP's); the peer takes the next.
    // Each system's HTTP server on 9464 (Prometheus exporters' port) and the next; the lab's page after them.
    return { primaryIscsi: 3260, peerIscsi: 3261, primaryCim: 5989, peerCim: 5990, redis: 6390, primaryMetrics: 9464, peerMetrics: 9465, dashboard: 9466, redisCluster: 7000 };
  }
  return {
    primaryIscsi: basePort, peerIscsi: basePort + 1, primaryCim: basePort + 2, peerCim: basePort + 3,
    redis: basePort + 4, primaryMetrics: basePort + 5, peerMetrics: basePort + 6, dashboard: basePort + 7, redisCluster: basePort + 8,
  };
}

export interface LabSystemFiles {
  readonly name: string;
  readonly role: 'primary' | 'peer';
  readonly configPath: string;
  readonly stateDir: string;
}

type Doc = Record<string, unknown>;

/** A lab flag that contradicts what the reused state dir holds. */
export class LabFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabFlagError';
  }
}

/**
 * Writes <stateDir>/<name>/system.yaml for both systems and returns where. `lunCount` > 1 repeats the
 * fixture's first LUN as LUNs 0..n-1 (files disk0.img, disk1.img, …), one mirror each.
 */
export async function writeLabConfigs(stateDir: string, ports: LabPorts, redisUrl: string, lunSize?: string, lunCount = 1): Promise<LabSystemFiles[]> {
  const wantedBytes = lunSize === undefined ? undefined : parseSize(lunSize);
  if (lunSize !== undefined && (wantedBytes === undefined || wantedBytes === 0)) throw new LabFlagError(`--size ${lunSize} is not a size (e.g. 64M, 1G)`);
  const primary = await fixture('lab-primary.yaml');
  const peer = await fixture('lab-peer.yaml');
  const primaryName = String(primary.name ?? 'primary');
  const peerName = String(peer.name ?? 'peer');
  const files: LabSystemFiles[] = [];
  for (const [doc, role, name, iscsi, cim, metrics, other, otherCim] of [
    [primary, 'primary', primaryName, ports.primaryIscsi, ports.primaryCim, ports.primaryMetrics, peerName, ports.peerCim],
    [peer, 'peer', peerName, ports.peerIscsi, ports.peerCim, ports.peerMetrics, primaryName, ports.primaryCim],
  ] as const) {
    const systemDir = join(stateDir, name);
    const config: Doc = {
      ...doc,
      stateDir: systemDir,
      portals: [`127.0.0.1:${iscsi}`],
      // HTTPS with each system's self-signed certificate (made in its state dir); each trusts the other's.
      cim: { ...(doc.cim as Doc | undefined), address: '127.0.0.1', port: cim, https: true },
      peers: [{ name: other, cimUrl: `https://127.0.0.1:${otherCim}`, ca: selfSignedCertificateFiles(join(stateDir, other)).cert }],
      redisUrl,
      metrics: { address: '127.0.0.1', port: metrics },
    };
    config.targets = await Promise.all((doc.targets as Doc[]).map(async (target) => ({
      ...target, luns: await Promise.all(repeated(target.luns as Doc[], lunCount).map((lun) => lunWithSize(lun, systemDir, stateDir, lunSize, wantedBytes))),
    })));
    await mkdir(systemDir, { recursive: true });
    const configPath = join(systemDir, 'system.yaml');
    await writeFile(configPath, `# written by iscsi-sim lab from fixtures/lab-${role}.yaml\n${stringify(config)}`);
    files.push({ name, role, configPath, stateDir: systemDir });
  }
  return files;
}

function repeated(luns: readonly Doc[], count: number): readonly Doc[] {
  const first = luns[0];
  if (count === 1 || first === undefined) return luns;
  return Array.from({ length: count }, (_, i) => ({ ...first, lun: i, file: `disk${i}.img` }));
}

/**
 * The LUN as the lab runs it: an existing file keeps its size (the config then names none, so the
 * system takes the file's); a new one gets --size or the fixture's.
 */
async function lunWithSize(lun: Doc, systemDir: string, stateDir: string, lunSize: string | undefined, wantedBytes: number | undefined): Promise<Doc> {
  const file = join(systemDir, String(lun.file));
  const existing = await stat(file).then((s) => s.size, () => undefined);
  if (existing === undefined) return lunSize === undefined ? lun : { ...lun, size: lunSize };
  if (wantedBytes !== undefined && wantedBytes !== existing) {
    throw new LabFlagError(`--size ${lunSize} does not match ${file} (${formatSize(existing)}) in the reused state dir ${stateDir}: `
      + `the lab does not resize a mirrored LUN; run without --size (or --size ${formatSize(existing)}), or use a new --state-dir`);
  }
  const { size: _size, ...withoutSize } = lun;
  return withoutSize;
}

async function fixture(name: string): Promise<Doc> {
  const parsed: unknown = parse(await readFile(join(FIXTURES_DIR, name), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`fixtures/${name} is not a YAML mapping`);
  return parsed as Doc;
}
