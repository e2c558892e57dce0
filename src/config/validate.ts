/**
 * Turns a parsed config document (YAML or JSON) into a SystemConfig: types, ranges, defaults,
 * cross-references and duplicates, each error naming the field. Pure apart from the optional
 * `fileSize` probe used when a LUN gives no size (an existing backing file's size is used).
 * Each section has its validator in sections/.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULTS } from './defaults.ts';
import { Fields } from './fields.ts';
import { chap } from './sections/chap.ts';
import { cim } from './sections/cim.ts';
import { metrics } from './sections/metrics.ts';
import { checkPeers, peer } from './sections/peers.ts';
import { checkDuplicatePortals, portal } from './sections/portals.ts';
import { redisUrlOf } from './sections/redis.ts';
import { checkDuplicateTargets, target } from './sections/targets.ts';
import { SYSTEM_NAME, size } from './sections/values.ts';
import type { KeepAliveConfig, SystemConfig } from './types.ts';

export interface ValidateContext {
  /** Folder relative paths in the document resolve against (the config file's folder). */
  readonly baseDir: string;
  /** Folder the default state dir (./state/<name>) resolves against. */
  readonly cwd: string;
  /** Size of an existing file, undefined when missing. */
  readonly fileSize?: (path: string) => number | undefined;
}

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
