/**
 * `iscsi-sim verify`: online verify of every mirror a system is the source of, through its CIM server
 * (vendor method MSISCSITARGET_ReplicationService.VerifyReplica; SMI-S has no verify operation).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CimClient } from '../../cim/client/client.ts';
import type { RawValue } from '../../cim/cimxml/parse.ts';
import { servicePath } from '../../cim/model/paths.ts';
import { getKey, TARGET_NAMESPACE, type ObjectPath } from '../../cim/types.ts';
import { exitSoon, fail } from '../lifecycle.ts';

interface VerifyFlags {
  cim?: string;
  system?: string;
  stateDir: string;
  repair?: boolean;
  json?: boolean;
  cacert?: string;
  insecure?: boolean;
  user?: string;
  password?: string;
}

interface LabSystem { name: string; role: string; cimUrl?: string; cimCertificate?: string }

/** The CIM URL and system name to ask: --cim/--system, else the lab's primary (trusting its certificate). */
async function endpoint(flags: VerifyFlags): Promise<{ url: string; system: string; caFile?: string }> {
  if (flags.cim) {
    if (!flags.system) fail('--cim needs --system NAME (the source system\'s name)', 2);
    return { url: flags.cim, system: flags.system, ...(flags.cacert === undefined ? {} : { caFile: flags.cacert }) };
  }
  try {
    const lab = JSON.parse(await readFile(join(flags.stateDir, 'lab.json'), 'utf8')) as { systems?: LabSystem[] };
    const primary = lab.systems?.find((s) => s.role === 'primary' && s.cimUrl);
    if (primary?.cimUrl) return { url: primary.cimUrl, system: primary.name, ...(primary.cimCertificate ? { caFile: primary.cimCertificate } : {}) };
  } catch {
    // fall through
  }
  fail(`no CIM server to ask: give --cim URL --system NAME, or run it next to a lab (${join(flags.stateDir, 'lab.json')} not found)`, 2);
}

function scalar(value: RawValue | undefined): string | undefined {
  return value?.kind === 'value' ? value.text : undefined;
}

function volumeId(path: unknown): string {
  return typeof path === 'object' && path !== null ? String(getKey(path as ObjectPath, 'DeviceID') ?? '?') : '?';
}

async function verify(flags: VerifyFlags): Promise<void> {
  const { url, system, caFile } = await endpoint(flags);
  const cim = new CimClient({ url, user: flags.user, password: flags.password, caFile, insecure: flags.insecure, timeoutMs: 15 * 60_000 });
  const service = { ...servicePath(system), namespace: TARGET_NAMESPACE };
  let divergentTotal = 0;
  const results: unknown[] = [];
  try {
    const relationships = await cim.invokeMethod(service, 'GetReplicationRelationships', {});
    const syncs = relationships.out.Synchronizations;
    const paths = syncs?.kind === 'refarray' ? syncs.paths : [];
    if (paths.length === 0 && !flags.json) process.stdout.write('no mirror pairs\n');
    for (const path of paths) {
      const sync = { ...path, namespace: TARGET_NAMESPACE };
      const answer = await cim.invokeMethod(service, 'VerifyReplica', { Synchronization: sync, Repair: flags.repair ?? false });
      const divergent = answer.out.DivergentOffsets;
      const offsets = divergent?.kind === 'array' ? divergent.items.map(Number) : [];
      divergentTotal += offsets.length;
      const result = {
        source: volumeId(getKey(path, 'SystemElement')), target: volumeId(getKey(path, 'SyncedElement')),
        returnValue: answer.returnValue, chunkBytes: Number(scalar(answer.out.ChunkBytes) ?? 0),
        compared: Number(scalar(answer.out.ComparedChunks) ?? 0), inFlux: Number(scalar(answer.out.InFluxChunks) ?? 0),
        divergentOffsets: offsets, repaired: scalar(answer.out.Repaired)?.toLowerCase() === 'true',
      };
      results.push(result);
      if (flags.json) continue;
      if (answer.returnValue !== 0) { process.stdout.write(`${result.source} → ${result.target}: VerifyReplica returned ${answer.returnValue} (is the pair streaming?)\n`); continue; }
      process.stdout.write(`${result.source} → ${result.target}: ${result.compared} chunks of ${result.chunkBytes} bytes compared, ${result.inFlux} in flux, `
        + `${offsets.length} divergent${offsets.length > 0 ? ` at ${offsets.join(', ')}` : ''}${result.repaired ? ' (resynced)' : ''}\n`);
    }
  } catch (err) {
    fail(`verify through ${url} failed: ${(err as Error).message}`);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ cimUrl: url, pairs: results }, null, 2)}\n`);
  exitSoon(divergentTotal > 0 && !flags.repair ? 1 : 0);
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('compare each mirror\'s replica with its source, chunk by chunk (CIM VerifyReplica); exit 1 when divergent')
    .option('--repair', 'resync the divergent chunks')
    .option('--json', 'machine-readable output')
    .option('--cim <url>', 'CIM server of the source system (default: the lab\'s primary)')
    .option('--system <name>', 'name of that system (with --cim)')
    .option('--cacert <file>', 'https --cim: trust this PEM certificate (a self-signed server\'s is <state dir>/cim-tls/cert.pem)')
    .option('-k, --insecure', 'https --cim: accept any certificate')
    .option('--user <user>', 'basic auth user (a CIM server with user/password)')
    .option('--password <password>', 'basic auth password')
    .option('--state-dir <dir>', 'lab state dir to find the lab in', 'state/lab')
    .action((flags: VerifyFlags) => verify(flags));
}
