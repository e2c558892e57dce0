/**
 * The quick form of `serve`: `--listen HOST:PORT --lun FILE[:SIZE] ... [--iqn IQN]` becomes a config
 * document (one portal, one target, LUN 0.. in order) validated like a config file. `--lun memory:SIZE`
 * (or `memory`, 1G) is a LUN in RAM (backstore: memory); a file named memory is `./memory`.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import { sanitizeNameComponent } from '../config/names.ts';
import { formatHostPort, parseHostPort } from '../config/portal-address.ts';
import { parseSize } from '../config/size.ts';
import type { SystemConfig } from '../config/types.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { existingFileSize, validateConfig } from '../config/validate.ts';

export interface QuickOptions {
  readonly listen: string;
  readonly luns: readonly string[];
  readonly iqn?: string;
  readonly name?: string;
  readonly stateDir?: string;
  /** HOST:PORT for the CIM server; off when absent. */
  readonly cim?: string;
  /** `--cim-https`: CIM-XML over HTTPS (self-signed certificate in the state dir; port 5989 by default); implies CIM on. */
  readonly cimHttps?: boolean;
  /** `--mkdir`: create missing folders of the LUN files. */
  readonly createParents?: boolean;
  /** HOST:PORT for the HTTP server (/metrics, /healthz); '' = the default; off when absent. */
  readonly metrics?: string;
}

export const DEFAULT_QUICK_LUN_SIZE = '1G';

export function defaultIqn(host: string = hostname()): string {
  return `iqn.2026-11.org.iscsi-sim:${sanitizeNameComponent(host)}`;
}

const MEMORY_SPEC = /^memory(?::(.*))?$/;

/** A suffix meant as a size (starts with a digit, no path separator), parseable or not. */
const SIZE_LIKE = /^\s*\d[^/\\]*$/;

/**
 * FILE or FILE:SIZE. Paths may hold ':', so the suffix is a size when it parses as one, or when it
 * looks like one (`12Q`) and FILE:SUFFIX is not an existing file: then validation rejects the size
 * exactly as it does in a config file, instead of creating a file named `q2.img:12Q`.
 */
export function parseLunSpec(spec: string, cwd: string, fileSize: (path: string) => number | undefined = existingFileSize): { file: string; size?: string } {
  if (spec.trim() === '') throw new ConfigError('--lun', 'needs FILE[:SIZE]');
  const colon = spec.lastIndexOf(':');
  if (colon > 0) {
    const size = spec.slice(colon + 1);
    const file = resolve(cwd, spec.slice(0, colon));
    if (parseSize(size) !== undefined) return { file, size };
    if (SIZE_LIKE.test(size) && fileSize(resolve(cwd, spec)) === undefined) return { file, size };
  }
  return { file: resolve(cwd, spec) };
}

export function quickConfig(options: QuickOptions, cwd: string, fileSize: (path: string) => number | undefined = existingFileSize): SystemConfig {
  let listen;
  try {
    listen = parseHostPort(options.listen, DEFAULTS.iscsiPort);
  } catch (error) {
    throw new ConfigError('--listen', (error as Error).message);
  }
  if (options.luns.length === 0) throw new ConfigError('--lun', 'at least one --lun FILE[:SIZE] is required');
  const luns = options.luns.map((spec) => {
    const memory = MEMORY_SPEC.exec(spec.trim());
    if (memory !== null) return { backstore: 'memory', size: memory[1] ?? DEFAULT_QUICK_LUN_SIZE };
    const { file, size } = parseLunSpec(spec, cwd, fileSize);
    // A missing file without a size gets the default size; an existing one keeps its own.
    return {
      file,
      ...(size === undefined && fileSize(file) !== undefined ? {} : { size: size ?? DEFAULT_QUICK_LUN_SIZE }),
      ...(options.createParents === true ? { createParents: true } : {}),
    };
  });
  const document = {
    name: options.name ?? sanitizeNameComponent(hostname()).replace(/\./g, '-').slice(0, 63),
    ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
    portals: [formatHostPort(listen.address, listen.port)],
    targets: [{ iqn: options.iqn ?? defaultIqn(), luns }],
    ...(options.cim === undefined && options.cimHttps !== true ? {} : { cim: cimSection(options.cim ?? '', options.cimHttps === true) }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics === '' ? `127.0.0.1:${DEFAULTS.metricsPort}` : options.metrics }),
  };
  try {
    return validateConfig(document, { baseDir: cwd, cwd, fileSize });
  } catch (error) {
    throw error instanceof ConfigError ? quickFieldError(error) : error;
  }
}

function cimSection(text: string, https: boolean): { address?: string; port?: number; https?: true } {
  if (text === '') return https ? { https: true } : {};
  try {
    return { ...parseHostPort(text, https ? DEFAULTS.cimHttpsPort : DEFAULTS.cimPort), ...(https ? { https: true as const } : {}) };
  } catch (error) {
    throw new ConfigError('--cim', (error as Error).message);
  }
}

/** Maps document paths back to the flags the user typed. */
function quickFieldError(error: ConfigError): ConfigError {
  const flag = error.field
    .replace(/^targets\[0\]\.luns\[(\d+)\].*/, (_m, index: string) => `--lun #${Number(index) + 1}`)
    .replace(/^targets\[0\]\.iqn$/, '--iqn')
    .replace(/^portals.*/, '--listen')
    .replace(/^name$/, '--name')
    .replace(/^cim.*/, '--cim')
    .replace(/^metrics.*/, '--metrics');
  return new ConfigError(flag, error.message.slice(error.field.length + 2));
}
