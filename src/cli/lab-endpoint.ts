/**
 * Next to a lab, CLI commands find their servers in its lab.json (`--state-dir`, default state/lab),
 * as `status` finds its Redis there: the CIM URL of the named system, or of the primary.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface LabJsonSystem {
  readonly name: string;
  readonly role?: string;
  readonly cimUrl?: string;
  /** Over HTTPS: the system's certificate (PEM), trusted when the URL comes from lab.json. */
  readonly cimCertificate?: string;
  /** The system's HTTP server's /metrics URL (its /api/sessions is beside it). */
  readonly metricsUrl?: string;
}

export interface CimEndpoint {
  readonly url: string;
  /** The lab system's certificate to trust (an https URL read from lab.json). */
  readonly caFile?: string;
}

export const DEFAULT_LAB_STATE_DIR = 'state/lab';

export async function labSystemsFrom(stateDir: string): Promise<readonly LabJsonSystem[] | undefined> {
  try {
    const lab = JSON.parse(await readFile(join(stateDir, 'lab.json'), 'utf8')) as { systems?: LabJsonSystem[] };
    return lab.systems ?? [];
  } catch {
    return undefined;
  }
}

/**
 * The CIM URL to use: `url` when given; else the lab's system named `system` (default: the primary);
 * else `fallback` when no lab is there and no system was named. Throws naming what is missing.
 */
export async function resolveCimUrl(options: { url?: string; system?: string; stateDir: string; fallback: string }): Promise<string> {
  return (await resolveCimEndpoint(options)).url;
}

/** resolveCimUrl, with the certificate to trust when the URL is a lab system's https one. */
export async function resolveCimEndpoint(options: { url?: string; system?: string; stateDir: string; fallback: string }): Promise<CimEndpoint> {
  if (options.url !== undefined) return { url: options.url };
  const systems = await labSystemsFrom(options.stateDir);
  if (systems === undefined) {
    if (options.system !== undefined) throw new Error(`--system ${options.system}: no lab in ${options.stateDir} (${join(options.stateDir, 'lab.json')} not found); give --url`);
    return { url: options.fallback };
  }
  const chosen = options.system === undefined ? systems.find((s) => s.role === 'primary') ?? systems[0] : systems.find((s) => s.name === options.system);
  if (chosen === undefined) throw new Error(`the lab in ${options.stateDir} has no system ${options.system ?? ''} (it has ${systems.map((s) => s.name).join(', ')})`);
  if (chosen.cimUrl === undefined) throw new Error(`the lab's system ${chosen.name} has no CIM server`);
  return { url: chosen.cimUrl, ...(chosen.cimCertificate === undefined ? {} : { caFile: chosen.cimCertificate }) };
}
