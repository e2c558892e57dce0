/**
 * `targets:` entries and their LUNs: names, portal groups, initiators, backstores, sizes, faults,
 * and duplicate IQNs, LUN numbers and backing files.
 */
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { DEFAULTS } from '../defaults.ts';
import { Fields, describe } from '../fields.ts';
import { iscsiNameProblem, normalizeIscsiName } from '../names.ts';
import { devicePersonality, PERSONALITY_KEYS } from '../personality.ts';
import { formatSize } from '../size.ts';
import { BACKSTORE_KINDS, type BackstoreKind, type ConfiguredFault, type LunConfig, type TargetConfig } from '../types.ts';
import { chap } from './chap.ts';
import { iscsiName, size } from './values.ts';

const MAX_LUN = 16383; // SAM-5 flat space addressing
const BLOCK_SIZES = [512, 4096];

export interface TargetContext {
  readonly stateDir: string;
  readonly groups: ReadonlySet<number>;
  readonly fileSize: (path: string) => number | undefined;
}

export function target(value: unknown, path: string, context: TargetContext): TargetConfig {
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

export function checkDuplicateTargets(targets: readonly TargetConfig[], path: string): void {
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
