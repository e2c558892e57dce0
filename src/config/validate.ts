/**
 * Turns a parsed config document (YAML or JSON) into a SystemConfig: types, ranges, defaults,
 * cross-references and duplicates, each error naming the field. Pure apart from the optional
 * `fileSize` probe used when a LUN gives no size (an existing backing file's size is used).
 */
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { exposureProblem } from './exposure.ts';
import { Fields, describe } from './fields.ts';
import { iscsiNameProblem, normalizeIscsiName } from './names.ts';
import { devicePersonality, PERSONALITY_KEYS } from './personality.ts';
import { addressProblem, parseHostPort } from './portal-address.ts';
import { formatSize, parseSize } from './size.ts';
import { CLUSTER_SCHEME, clusterNode, clusterUrl, parseRedisEndpoint } from '../util/redis-endpoint.ts';
import {
  BACKSTORE_KINDS, type BackstoreKind, type ChapConfig, type CimConfig, type CimTlsConfig, type ConfiguredFault, type KeepAliveConfig, type LunConfig, type MetricsConfig,
  type PeerConfig, type PortalConfig, type SystemConfig, type TargetConfig,
} from './types.ts';

export interface ValidateContext {
  /** Folder relative paths in the document resolve against (the config file's folder). */
  readonly baseDir: string;
  /** Folder the default state dir (./state/<name>) resolves against. */
  readonly cwd: string;
  /** Size of an existing file, undefined when missing. */
  readonly fileSize?: (path: string) => number | undefined;
}

export const DEFAULTS = {
  portalGroupTag: 1,
  iscsiPort: 3260,
  blockSize: 512,
  cimAddress: '127.0.0.1',
  cimPort: 5988,
  cimHttpsPort: 5989,
  metricsPort: 9464,
  /** RAM all memory LUNs of a system may allocate together (they are thin: sizes may add up to more). */
  memoryLimit: 1024 ** 3,
  keepAliveIdleSeconds: 15,
  keepAliveTimeoutSeconds: 15,
} as const;

const SYSTEM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MAX_LUN = 16383; // SAM-5 flat space addressing
const BLOCK_SIZES = [512, 4096];

export function existingFileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

export function validateConfig(document: unknown, context: ValidateContext): SystemConfig {
  const root = Fields.of(document, '', ['name', 'stateDir', 'portals', 'targets', 'discoveryChap', 'cim', 'peers', 'redisUrl', 'redis', 'metrics', 'memoryLimit', 'keepAlive']);
  const name = root.string('name');
  if (!SYSTEM_NAME.test(name)) root.fail('name', `"${name}" must be 1-63 letters, digits, '.', '_' or '-'`);
  const stateDirText = root.optionalString('stateDir');
  const stateDir = stateDirText === undefined ? resolve(context.cwd, 'state', name) : resolve(context.baseDir, stateDirText);

  const portals = root.list('portals').map(({ value, path }) => portal(value, path));
  if (portals.length === 0) root.fail('portals', 'at least one portal is required');
  checkDuplicatePortals(portals, root.at('portals'));
  const groups = new Set(portals.map((p) => p.portalGroupTag));

  const targetItems = root.list('targets');
  if (targetItems.length === 0) root.fail('targets', 'at least one target is required');
  const fileSize = context.fileSize ?? existingFileSize;
  const targets = targetItems.map(({ value, path }) => target(value, path, { stateDir, groups, fileSize }));
  checkDuplicateTargets(targets, root.at('targets'));

  return {
    name,
    stateDir,
    portals,
    targets,
    ...(root.has('discoveryChap') ? { discoveryChap: chap(root.raw('discoveryChap'), root.at('discoveryChap')) } : {}),
    cim: cim(root.raw('cim'), root.at('cim'), context.baseDir),
    peers: checkPeers(root.list('peers').map(({ value, path }) => peer(value, path, context.baseDir)), name, root.at('peers')),
    ...redisUrlOf(root),
    ...(root.has('metrics') ? { metrics: metrics(root.raw('metrics'), root.at('metrics')) } : {}),
    ...(root.has('memoryLimit') ? { memoryLimit: size(root, 'memoryLimit') } : {}),
    ...(root.has('keepAlive') ? { keepAlive: keepAlive(root.raw('keepAlive'), root.at('keepAlive')) } : {}),
  };
}

/** `false` (no pings), `true` (defaults) or `{idleSeconds, timeoutSeconds}`. */
function keepAlive(value: unknown, path: string): KeepAliveConfig {
  if (value === false) return { idleSeconds: 0, timeoutSeconds: DEFAULTS.keepAliveTimeoutSeconds };
  if (value === true) return { idleSeconds: DEFAULTS.keepAliveIdleSeconds, timeoutSeconds: DEFAULTS.keepAliveTimeoutSeconds };
  const fields = Fields.of(value, path, ['idleSeconds', 'timeoutSeconds']);
  return {
    idleSeconds: fields.integer('idleSeconds', 0, 86400, DEFAULTS.keepAliveIdleSeconds),
    timeoutSeconds: fields.integer('timeoutSeconds', 1, 86400, DEFAULTS.keepAliveTimeoutSeconds),
  };
}

function hostPort(value: unknown, path: string, defaultPort: number): { address: string; port: number } {
  if (typeof value === 'string') {
    try {
      return parseHostPort(value, defaultPort);
    } catch (error) {
      throw new ConfigError(path, (error as Error).message);
    }
  }
  const fields = Fields.of(value, path, ['address', 'port']);
  const address = fields.string('address');
  const problem = addressProblem(address);
  if (problem !== undefined) fields.fail('address', problem);
  return { address, port: fields.integer('port', 0, 65535, defaultPort) };
}

function portal(value: unknown, path: string): PortalConfig {
  if (typeof value === 'string') return { ...hostPort(value, path, DEFAULTS.iscsiPort), portalGroupTag: DEFAULTS.portalGroupTag };
  const fields = Fields.of(value, path, ['address', 'port', 'portalGroupTag']);
  const { address, port } = hostPort({ address: fields.raw('address'), port: fields.raw('port') }, path, DEFAULTS.iscsiPort);
  // RFC 7143 §13.9: TargetPortalGroupTag is a 16-bit value.
  return { address, port, portalGroupTag: fields.integer('portalGroupTag', 1, 65535, DEFAULTS.portalGroupTag) };
}

function checkDuplicatePortals(portals: readonly PortalConfig[], path: string): void {
  const seen = new Map<string, number>();
  portals.forEach((p, index) => {
    if (p.port === 0) return; // each port-0 portal gets its own ephemeral port
    const key = `${p.address.toLowerCase()}|${p.port}`;
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`${path}[${index}]`, `${p.address}:${p.port} is already used by ${path}[${first}]`);
    seen.set(key, index);
  });
}

interface TargetContext {
  readonly stateDir: string;
  readonly groups: ReadonlySet<number>;
  readonly fileSize: (path: string) => number | undefined;
}

function iscsiName(fields: Fields, key: string, text: string): string {
  const problem = iscsiNameProblem(text);
  if (problem !== undefined) fields.fail(key, problem);
  return normalizeIscsiName(text);
}

function target(value: unknown, path: string, context: TargetContext): TargetConfig {
  const fields = Fields.of(value, path, ['iqn', 'alias', 'portalGroupTags', 'luns', 'allowedInitiators', 'chap']);
  const iqn = iscsiName(fields, 'iqn', fields.string('iqn'));
  const alias = fields.optionalString('alias');
  const tagItems = fields.list('portalGroupTags');
  const portalGroupTags = tagItems.length === 0 ? [...context.groups].sort((a, b) => a - b) : tagItems.map(({ value: tag, path: tagPath }) => {
    if (typeof tag !== 'number' || !context.groups.has(tag)) {
      throw new ConfigError(tagPath, `${describe(tag)} is not the portalGroupTag of any portal (have ${[...context.groups].join(', ')})`);
    }
    return tag;
  });
  const allowedInitiators = fields.list('allowedInitiators').map(({ value: initiator, path: initiatorPath }) => {
    const problem = typeof initiator === 'string' ? iscsiNameProblem(initiator) : `expected an iSCSI name, got ${describe(initiator)}`;
    if (problem !== undefined) throw new ConfigError(initiatorPath, problem);
    return normalizeIscsiName(initiator as string);
  });
  const lunItems = fields.list('luns');
  if (lunItems.length === 0) fields.fail('luns', 'at least one LUN is required');
  const luns = lunItems.map(({ value: lunValue, path: lunPath }, index) => lun(lunValue, lunPath, index, iqn, context));
  checkDuplicateLuns(luns, fields.at('luns'));
  return {
    iqn,
    ...(alias === undefined ? {} : { alias }),
    portalGroupTags,
    luns,
    allowedInitiators,
    ...(fields.has('chap') ? { chap: chap(fields.raw('chap'), fields.at('chap')) } : {}),
  };
}

function defaultLunFile(iqn: string, lunNumber: number): string {
  return `${iqn.replace(/[^a-z0-9.-]+/g, '_')}.lun${lunNumber}.img`;
}

/** A size field: 512, "64K", "1G", "10T". */
function size(fields: Fields, key: string): number {
  const value = fields.raw(key);
  const parsed = typeof value === 'string' || typeof value === 'number' ? parseSize(value) : undefined;
  if (parsed === undefined) fields.fail(key, `${describe(value)} is not a size (use 512, 64K, 1G, 10T)`);
  return parsed;
}

function backstoreKind(fields: Fields): BackstoreKind {
  const text = fields.optionalString('backstore') ?? 'file';
  const kind = BACKSTORE_KINDS.find((known) => known === text);
  if (kind === undefined) fields.fail('backstore', `"${text}" is not a backstore (known: ${BACKSTORE_KINDS.join(', ')})`);
  return kind;
}

function lun(value: unknown, path: string, index: number, iqn: string, context: TargetContext): LunConfig {
  const fields: Fields = Fields.of(value, path, ['lun', 'backstore', 'file', 'size', 'blockSize', 'serial', 'readOnly', 'thinProvisioning', 'createParents', 'faults', ...PERSONALITY_KEYS]);
  const lunNumber = fields.integer('lun', 0, MAX_LUN, index);
  const backstore = backstoreKind(fields);
  if (backstore === 'memory') {
    for (const key of ['file', 'createParents']) if (fields.has(key)) fields.fail(key, 'a memory LUN has no backing file (remove it, or set backstore: file)');
  }
  const fileText = backstore === 'file' ? fields.optionalString('file') ?? defaultLunFile(iqn, lunNumber) : undefined;
  const file = fileText === undefined || isAbsolute(fileText) ? fileText : join(context.stateDir, fileText);
  const blockSize = fields.integer('blockSize', 512, 4096, DEFAULTS.blockSize);
  if (!BLOCK_SIZES.includes(blockSize)) fields.fail('blockSize', `${blockSize} is not 512 or 4096`);
  let sizeBytes: number;
  if (fields.has('size')) {
    sizeBytes = size(fields, 'size');
  } else {
    if (file === undefined) fields.fail('size', 'is required for a memory LUN');
    const existing = context.fileSize(file);
    if (existing === undefined) fields.fail('size', `is required because ${file} does not exist yet`);
    sizeBytes = existing;
  }
  if (sizeBytes < blockSize || sizeBytes % blockSize !== 0) {
    fields.fail('size', `${formatSize(sizeBytes)} is not a positive multiple of the block size ${blockSize}`);
  }
  const serial = fields.optionalString('serial');
  // VPD 0x80 carries the serial as printable ASCII.
  if (serial !== undefined && !/^[\x21-\x7e]{1,64}$/.test(serial)) fields.fail('serial', `"${serial}" must be 1-64 printable ASCII characters without spaces`);
  const personality = devicePersonality(fields, blockSize);
  return {
    lun: lunNumber,
    backstore,
    ...(file === undefined ? {} : { file }),
    sizeBytes,
    blockSize,
    ...(serial === undefined ? {} : { serial }),
    readOnly: fields.boolean('readOnly', false),
    ...(fields.has('thinProvisioning') ? { thinProvisioning: fields.boolean('thinProvisioning', true) } : {}),
    ...(fields.boolean('createParents', false) ? { createParents: true } : {}),
    ...(fields.has('faults') ? { faults: faultList(fields) } : {}),
    ...(Object.keys(personality).length === 0 ? {} : { personality }),
  };
}

/** The rules themselves are checked when the LUN opens (src/scsi/faults knows the sense names). */
function faultList(fields: Fields): ConfiguredFault[] {
  return fields.list('faults').map(({ value, path }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, `expected a fault rule ({action, ...}), got ${describe(value)}`);
    return { path, rule: value as Record<string, unknown> };
  });
}

function checkDuplicateLuns(luns: readonly LunConfig[], path: string): void {
  const seen = new Map<number, number>();
  luns.forEach((entry, index) => {
    const first = seen.get(entry.lun);
    if (first !== undefined) throw new ConfigError(`${path}[${index}].lun`, `LUN ${entry.lun} is already defined by ${path}[${first}]`);
    seen.set(entry.lun, index);
  });
}

function checkDuplicateTargets(targets: readonly TargetConfig[], path: string): void {
  const iqns = new Map<string, number>();
  const files = new Map<string, string>();
  targets.forEach((entry, index) => {
    const first = iqns.get(entry.iqn);
    if (first !== undefined) throw new ConfigError(`${path}[${index}].iqn`, `"${entry.iqn}" is already used by ${path}[${first}]`);
    iqns.set(entry.iqn, index);
    entry.luns.forEach((lunEntry, lunIndex) => {
      if (lunEntry.file === undefined) return;
      const here = `${path}[${index}].luns[${lunIndex}].file`;
      const owner = files.get(lunEntry.file);
      if (owner !== undefined) throw new ConfigError(here, `${lunEntry.file} is already the backing file of ${owner}`);
      files.set(lunEntry.file, here);
    });
  });
}

/** RFC 7143 §9.2.1: without IPsec a CHAP secret needs at least 96 random bits; 12 characters. */
export const MIN_CHAP_SECRET_LENGTH = 12;

function chap(value: unknown, path: string): ChapConfig {
  const fields = Fields.of(value, path, ['user', 'secret', 'mutualUser', 'mutualSecret', 'allowShortSecrets']);
  const user = fields.string('user');
  const secret = fields.string('secret');
  const mutualUser = fields.optionalString('mutualUser');
  const mutualSecret = fields.optionalString('mutualSecret');
  if ((mutualUser === undefined) !== (mutualSecret === undefined)) {
    fields.fail(mutualUser === undefined ? 'mutualUser' : 'mutualSecret', 'mutual CHAP needs both mutualUser and mutualSecret');
  }
  // RFC 7143 §9.2.1: the same secret must not be used in both directions.
  if (mutualSecret !== undefined && mutualSecret === secret) fields.fail('mutualSecret', 'must differ from secret');
  if (!fields.boolean('allowShortSecrets', false)) {
    for (const [key, text] of [['secret', secret], ['mutualSecret', mutualSecret]] as const) {
      if (text !== undefined && text.length < MIN_CHAP_SECRET_LENGTH) {
        fields.fail(key, `is ${text.length} characters; RFC 7143 §9.2.1 wants at least 96 random bits (${MIN_CHAP_SECRET_LENGTH}+ characters) without IPsec (allowShortSecrets: true to imitate a weak set-up)`);
      }
    }
  }
  return { user, secret, ...(mutualUser === undefined ? {} : { mutualUser, mutualSecret }) };
}

/**
 * No `cim` section: CIM off. A `cim` section: on (unless enabled: false), 127.0.0.1:5988 by default;
 * with `https` (true, or {cert, key}) HTTPS on 5989. Basic auth needs HTTPS unless allowBasicAuthOverHttp.
 */
function cim(value: unknown, path: string, baseDir: string): CimConfig {
  if (value === undefined || value === null) return { enabled: false, address: DEFAULTS.cimAddress, port: DEFAULTS.cimPort };
  const fields = Fields.of(value, path, ['enabled', 'address', 'port', 'user', 'password', 'allowUnauthenticated', 'https', 'allowBasicAuthOverHttp']);
  const address = fields.optionalString('address') ?? DEFAULTS.cimAddress;
  const problem = addressProblem(address);
  if (problem !== undefined) fields.fail('address', problem);
  const user = fields.optionalString('user');
  const password = fields.optionalString('password');
  if ((user === undefined) !== (password === undefined)) fields.fail(user === undefined ? 'user' : 'password', 'HTTP basic auth needs both user and password');
  const enabled = fields.boolean('enabled', true);
  const allowUnauthenticated = fields.boolean('allowUnauthenticated', false);
  const exposure = exposureProblem({ field: path, what: 'CIM-XML', address, authenticated: user !== undefined });
  if (enabled && exposure !== undefined && !allowUnauthenticated) fields.fail('address', exposure);
  const https = cimHttps(fields, baseDir);
  const allowBasicAuthOverHttp = fields.boolean('allowBasicAuthOverHttp', false);
  if (user !== undefined && https === undefined && !allowBasicAuthOverHttp) {
    fields.fail('user', 'basic auth over plain HTTP sends the password in clear text: serve CIM over HTTPS (https: true, or https: {cert, key}) or set allowBasicAuthOverHttp: true');
  }
  return {
    enabled,
    address,
    port: fields.integer('port', 0, 65535, https === undefined ? DEFAULTS.cimPort : DEFAULTS.cimHttpsPort),
    ...(user === undefined ? {} : { user, password }),
    ...(allowUnauthenticated ? { allowUnauthenticated } : {}),
    ...(https === undefined ? {} : { https }),
    ...(allowBasicAuthOverHttp ? { allowBasicAuthOverHttp } : {}),
  };
}

/** `https: true` (self-signed in the state dir), `https: {cert, key}` (PEM files), or absent/false. */
function cimHttps(fields: Fields, baseDir: string): CimTlsConfig | undefined {
  const value = fields.raw('https');
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fields.fail('https', `expected true, false or {cert, key}, got ${describe(value)}`);
  const tls = Fields.of(value, fields.at('https'), ['cert', 'key']);
  const cert = tls.optionalString('cert');
  const key = tls.optionalString('key');
  if ((cert === undefined) !== (key === undefined)) tls.fail(cert === undefined ? 'cert' : 'key', 'needs both cert and key (PEM files), or neither for a self-signed certificate made in the state dir');
  if (cert === undefined || key === undefined) return {};
  return { cert: resolve(baseDir, cert), key: resolve(baseDir, key) };
}

/**
 * `"HOST:PORT"` or `{address, port, allowUnauthenticated?, token?}`. GET (/metrics, /api/sessions)
 * has no authentication; the controls (POST/DELETE /api/faults, ...) need the bearer token when one
 * is set. A non-loopback bind needs a token or allowUnauthenticated.
 */
function metrics(value: unknown, path: string): MetricsConfig {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const fields = isObject ? Fields.of(value, path, ['address', 'port', 'allowUnauthenticated', 'token']) : undefined;
  const allowUnauthenticated = fields?.boolean('allowUnauthenticated', false) ?? false;
  const token = fields?.optionalString('token');
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token)) fields?.fail('token', 'must be at least 16 printable characters without spaces');
  const hostValue = isObject ? { address: (value as Record<string, unknown>).address, port: (value as Record<string, unknown>).port } : value;
  const { address, port } = hostPort(hostValue, path, DEFAULTS.metricsPort);
  const exposure = exposureProblem({ field: path, what: 'Prometheus /metrics', address, authenticated: token !== undefined });
  if (exposure !== undefined && !allowUnauthenticated) throw new ConfigError(typeof value === 'string' ? path : `${path}.address`, exposure);
  return { address, port, ...(allowUnauthenticated ? { allowUnauthenticated } : {}), ...(token === undefined ? {} : { token }) };
}

/**
 * `redisUrl: redis://…` (or `redis+cluster://h1:p1,h2:p2`), or `redis: {url: …}` / `redis: {cluster:
 * [host:port, …]}`; carried on as one URL string (util/redis-endpoint.ts reads it).
 */
function redisUrlOf(root: Fields): { redisUrl?: string } {
  if (root.has('redisUrl') && root.has('redis')) root.fail('redis', 'give either redis or redisUrl, not both');
  if (root.has('redisUrl')) return { redisUrl: redisUrlField(root, 'redisUrl') };
  if (!root.has('redis')) return {};
  const fields = Fields.of(root.raw('redis'), root.at('redis'), ['url', 'cluster']);
  if (fields.has('url') === fields.has('cluster')) fields.fail(fields.has('url') ? 'cluster' : 'url', 'give either url or cluster (a list of host:port)');
  if (fields.has('url')) return { redisUrl: redisUrlField(fields, 'url') };
  const nodes = fields.list('cluster').map(({ value, path }) => {
    if (typeof value !== 'string') throw new ConfigError(path, `expected host:port, got ${describe(value)}`);
    try {
      clusterNode(value);
    } catch {
      throw new ConfigError(path, `${JSON.stringify(value)} is not host:port`);
    }
    return value.trim();
  });
  if (nodes.length === 0) fields.fail('cluster', 'name at least one node (host:port)');
  return { redisUrl: clusterUrl(nodes) };
}

function redisUrlField(fields: Fields, key: string): string {
  const text = fields.string(key);
  if (!text.toLowerCase().startsWith(`${CLUSTER_SCHEME}//`)) return url(fields, key, ['redis:', 'rediss:', CLUSTER_SCHEME]);
  try {
    parseRedisEndpoint(text);
  } catch (error) {
    return fields.fail(key, (error as Error).message);
  }
  return text;
}

function url(fields: Fields, key: string, protocols: readonly string[]): string {
  const text = fields.string(key);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return fields.fail(key, `"${text}" is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) fields.fail(key, `"${text}" must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  return text;
}

function checkPeers(peers: PeerConfig[], systemName: string, path: string): PeerConfig[] {
  const seen = new Map<string, number>();
  peers.forEach((entry, index) => {
    if (entry.name === systemName) throw new ConfigError(`${path}[${index}].name`, `"${entry.name}" is this system's own name`);
    const first = seen.get(entry.name);
    if (first !== undefined) throw new ConfigError(`${path}[${index}].name`, `"${entry.name}" is already used by ${path}[${first}]`);
    seen.set(entry.name, index);
  });
  return peers;
}

function peer(value: unknown, path: string, baseDir: string): PeerConfig {
  const fields = Fields.of(value, path, ['name', 'cimUrl', 'user', 'password', 'ca', 'insecure']);
  const name = fields.string('name');
  if (!SYSTEM_NAME.test(name)) fields.fail('name', `"${name}" must be 1-63 letters, digits, '.', '_' or '-'`);
  const user = fields.optionalString('user');
  const password = fields.optionalString('password');
  const cimUrl = url(fields, 'cimUrl', ['http:', 'https:']);
  const ca = fields.optionalString('ca');
  const insecure = fields.boolean('insecure', false);
  if ((ca !== undefined || insecure) && !cimUrl.startsWith('https:')) fields.fail(ca !== undefined ? 'ca' : 'insecure', `applies to an https cimUrl only (cimUrl is ${cimUrl})`);
  if (ca !== undefined && insecure) fields.fail('insecure', 'give ca (trust that certificate) or insecure (trust any), not both');
  return {
    name,
    cimUrl,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(ca === undefined ? {} : { ca: resolve(baseDir, ca) }),
    ...(insecure ? { insecure } : {}),
  };
}
