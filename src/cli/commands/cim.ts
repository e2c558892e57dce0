/**
 * `iscsi-sim cim`: the ReplicationService methods and enumerations for people without a CIM
 * client, through the project's own CIM-XML client (the same server and providers wbemcli reaches).
 */
import type { Command } from 'commander';
import { CimClient, type ArgValue, type MethodResult } from '../../cim/client/client.ts';
import { formatObjectPath, looksLikeObjectPath, parseObjectPath } from '../../cim/client/object-path-text.ts';
import type { RawValue } from '../../cim/cimxml/parse.ts';
import { CimError } from '../../cim/errors.ts';
import { CLS, endpointPath, systemPath } from '../../cim/model/paths.ts';
import { TARGET_NAMESPACE, type KeyScalar, type ObjectPath } from '../../cim/types.ts';
import { DEFAULT_LAB_STATE_DIR, resolveCimEndpoint } from '../lab-endpoint.ts';

interface CimOptions {
  url?: string;
  system?: string;
  stateDir: string;
  namespace: string;
  user?: string;
  password?: string;
  timeout: string;
  cacert?: string;
  insecure?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const DEFAULT_CIM_URL = 'http://127.0.0.1:5988';

async function clientOf(o: CimOptions): Promise<CimClient> {
  const endpoint = await resolveCimEndpoint({ ...(o.url === undefined ? {} : { url: o.url }), ...(o.system === undefined ? {} : { system: o.system }), stateDir: o.stateDir, fallback: DEFAULT_CIM_URL });
  return new CimClient({ url: endpoint.url, user: o.user, password: o.password, timeoutMs: Number(o.timeout) || 10_000, caFile: o.cacert ?? endpoint.caFile, insecure: o.insecure });
}

function rawText(v: RawValue): string {
  switch (v.kind) {
    case 'null': return '';
    case 'value': return v.text;
    case 'array': return v.items.join(',');
    case 'ref': return formatObjectPath(v.path);
    case 'refarray': return v.paths.map((p) => formatObjectPath(p)).join('\n  ');
    default: return `<${v.kind}>`;
  }
}

function printResult(method: string, r: MethodResult): void {
  const reason = r.out.ErrorDescription;
  process.stdout.write(`${method}: ${r.returnValue}${RETURN_TEXT[r.returnValue] ? ` (${RETURN_TEXT[r.returnValue]})` : ''}${reason?.kind === 'value' ? `: ${reason.text}` : ''}\n`);
  for (const [name, v] of Object.entries(r.out)) process.stdout.write(`${name}=${rawText(v)}\n`);
}

const RETURN_TEXT: Record<number, string> = { 0: 'Completed with No Error', 1: 'Not Supported', 2: 'Unknown', 3: 'Timeout', 4: 'Failed', 5: 'Invalid Parameter', 6: 'In Use', 4096: 'Job Started' };

/**
 * `--arg K=V`: V is `@<object path>` for a reference (or an object path pasted as `cim call` printed
 * it, e.g. a Synchronization from GetReplicationRelationships), else text typed by the server's
 * declaration. Repeat K for arrays.
 */
export function parseArgs(pairs: readonly string[], ns: string): Record<string, ArgValue> {
  const out: Record<string, (KeyScalar | ObjectPath)[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--arg ${pair}: expected NAME=VALUE`);
    const name = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    const reference = text.startsWith('@') ? text.slice(1) : looksLikeObjectPath(text) && text.includes('"') ? text : undefined;
    (out[name] ??= []).push(reference !== undefined ? parseObjectPath(reference, ns) : text);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, (v.length === 1 ? v[0] : v) as ArgValue]));
}

async function service(client: CimClient, ns: string): Promise<ObjectPath> {
  const names = await client.enumerateInstanceNames(ns, CLS.service);
  if (names.length === 0) throw new Error('the server has no ReplicationService');
  return names[0];
}

async function run(o: CimOptions, body: (client: CimClient) => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body(await clientOf(o));
  } catch (err) {
    const message = err instanceof CimError ? err.message : (err as Error).message;
    const hint = /certificate/i.test(message) ? '\n  --cacert FILE trusts a certificate (a self-signed server\'s is <its state dir>/cim-tls/cert.pem); -k accepts any' : '';
    process.stderr.write(`iscsi-sim cim: ${message}${hint}\n`);
    process.exitCode = 1;
  }
}

/** Exit status: 0 for return values 0 and 4096, 2 for any other return value. */
function status(r: MethodResult): number {
  return r.returnValue === 0 || r.returnValue === 4096 ? 0 : 2;
}

function endpoints(system: string, names: readonly string[]): ObjectPath[] | undefined {
  return names.length ? names.map((n) => endpointPath(system, n)) : undefined;
}

async function waitJob(client: CimClient, r: MethodResult, wait: boolean): Promise<MethodResult> {
  const job = r.out.Job;
  if (!wait || r.returnValue !== 4096 || job?.kind !== 'ref') return r;
  for (let i = 0; i < 600; i++) {
    const inst = await client.getInstance(job.path);
    const state = inst.properties.find((p) => p.name === 'JobState')?.value;
    const v = state?.kind === 'value' ? Number(state.text) : 0;
    if (v !== 4 && v !== 3 && v !== 2) {
      const desc = inst.properties.find((p) => p.name === 'ErrorDescription')?.value;
      process.stdout.write(`job ${formatObjectPath(job.path)} JobState=${v}${desc?.kind === 'value' ? ` ErrorDescription=${desc.text}` : ''}\n`);
      return { returnValue: v === 7 ? 0 : 4, out: r.out };
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error('job did not finish within 120 s');
}

/**
 * The new collection's ID: from the ConnectivityCollection out parameter when done at once, else
 * (after --wait) from the finished job's CIM_AffectedJobElement, as an SMI-S client finds it.
 */
async function printCreatedCollection(client: CimClient, started: MethodResult, done: MethodResult, namespace: string): Promise<void> {
  if (done.returnValue !== 0) return;
  let collection = started.out.ConnectivityCollection?.kind === 'ref' ? started.out.ConnectivityCollection.path : undefined;
  const job = started.out.Job;
  if (collection === undefined && job?.kind === 'ref') {
    [collection] = await client.associatorNames({ ...job.path, namespace: job.path.namespace ?? namespace }, 'CIM_AffectedJobElement', CLS.collection);
    if (collection !== undefined) process.stdout.write(`ConnectivityCollection=${formatObjectPath(collection)}\n`);
  }
  if (collection !== undefined) process.stdout.write(`InstanceID=${String(collection.keys.InstanceID)}\n`);
}

export function registerCim(program: Command): void {
  const cim = program
    .command('cim')
    .description('SMI-S management over CIM-XML: enumerate objects, call ReplicationService methods')
    .option('-u, --url <url>', `CIM server URL (default: the lab's primary from --state-dir's lab.json, else ${DEFAULT_CIM_URL})`)
    .option('--system <name>', 'next to a lab: the lab system to ask (default the primary)')
    .option('--state-dir <dir>', 'lab state dir whose lab.json names the CIM servers', DEFAULT_LAB_STATE_DIR)
    .option('-n, --namespace <ns>', 'namespace', TARGET_NAMESPACE)
    .option('--user <user>', 'basic auth user')
    .option('--password <password>', 'basic auth password')
    .option('--timeout <ms>', 'per-request timeout', '10000')
    .option('--cacert <file>', 'https: trust this PEM certificate (a self-signed server\'s is <state dir>/cim-tls/cert.pem)')
    .option('-k, --insecure', 'https: accept any certificate (like wbemcli -noverify)');
  const opts = (): CimOptions => cim.opts<CimOptions>();

  cim.command('ei <class>').description('enumerate instances of a class (and its subclasses)').action((cls: string) => run(opts(), async (c) => {
    for (const { path, instance } of await c.enumerateInstances(opts().namespace, cls)) {
      process.stdout.write(`${formatObjectPath(path)}\n`);
      for (const p of instance.properties) if (p.value.kind !== 'null') process.stdout.write(`  ${p.name}=${rawText(p.value)}\n`);
    }
    return 0;
  }));

  cim.command('call <method>')
    .description('invoke an extrinsic method; --arg NAME=VALUE (repeat for arrays; @Class.Key="v" for references)')
    .option('--target <path>', 'object path of the target instance (default: the ReplicationService)')
    .option('--arg <name=value>', 'method argument', collect, [])
    .option('--wait', 'when a job starts, poll it to the end')
    .action((method: string, o: { target?: string; arg: string[]; wait?: boolean }) => run(opts(), async (c) => {
      const ns = opts().namespace;
      const target = o.target ? parseObjectPath(o.target, ns) : await service(c, ns);
      const r = await waitJob(c, await c.invokeMethod(target, method, parseArgs(o.arg, ns)), o.wait ?? false);
      printResult(method, r);
      return status(r);
    }));

  cim.command('create-collection')
    .description('CreateRemoteReplicationCollection; endpoints by Name (<iqn>,t,0x<tpgt>)')
    .option('--name <elementName>', 'ElementName')
    .option('--local <endpoint>', 'a local access point (repeat)', collect, [])
    .option('--remote-system <name>', 'the remote system')
    .option('--remote <endpoint>', 'an access point of the remote system (repeat)', collect, [])
    .option('--inactive', 'Active=false')
    .option('--delete-on-unassociated', 'DeleteOnUnassociated=true')
    .option('--wait', 'poll the job to its end')
    .action((o: { name?: string; local: string[]; remoteSystem?: string; remote: string[]; inactive?: boolean; deleteOnUnassociated?: boolean; wait?: boolean }) => run(opts(), async (c) => {
      const svc = await service(c, opts().namespace);
      const me = String(svc.keys.SystemName);
      if (o.remote.length && !o.remoteSystem) throw new Error('--remote needs --remote-system');
      const r = await c.invokeMethod(svc, 'CreateRemoteReplicationCollection', {
        ElementName: o.name, LocalAccessPoints: endpoints(me, o.local), RemoteAccessPoints: o.remoteSystem ? endpoints(o.remoteSystem, o.remote) : undefined,
        RemoteComputerSystem: o.remoteSystem ? systemPath(o.remoteSystem) : undefined, Active: !o.inactive, DeleteOnUnassociated: o.deleteOnUnassociated ?? false,
      });
      const done = await waitJob(c, r, o.wait ?? false);
      printResult('CreateRemoteReplicationCollection', done);
      await printCreatedCollection(c, r, done, opts().namespace);
      return status(done);
    }));

  for (const [command, method] of [['add-to-collection', 'AddToRemoteReplicationCollection'], ['remove-from-collection', 'RemoveFromRemoteReplicationCollection']] as const) {
    cim.command(command)
      .description(`${method}; endpoints by Name`)
      .requiredOption('--collection <instanceId>', 'InstanceID of the RemoteReplicationCollection')
      .option('--local <endpoint>', 'a local access point (repeat)', collect, [])
      .option('--remote-system <name>', 'the remote system')
      .option('--remote <endpoint>', 'an access point of the remote system (repeat; needs --remote-system)', collect, [])
      .option('--wait', 'poll the job to its end')
      .action((o: { collection: string; local: string[]; remoteSystem?: string; remote: string[]; wait?: boolean }) => run(opts(), async (c) => {
        const ns = opts().namespace;
        const svc = await service(c, ns);
        const me = String(svc.keys.SystemName);
        if (o.remote.length && !o.remoteSystem) throw new Error('--remote needs --remote-system');
        const r = await c.invokeMethod(svc, method, {
          LocalAccessPoints: endpoints(me, o.local), RemoteAccessPoints: o.remoteSystem ? endpoints(o.remoteSystem, o.remote) : undefined,
          RemoteComputerSystem: o.remoteSystem ? systemPath(o.remoteSystem) : undefined,
          ConnectivityCollection: { className: CLS.collection, namespace: ns, keys: { InstanceID: o.collection } },
        });
        const done = await waitJob(c, r, o.wait ?? false);
        printResult(method, done);
        return status(done);
      }));
  }

  cim.command('peers').description('GetPeerSystems with their access points').action(() => run(opts(), async (c) => {
    const r = await c.invokeMethod(await service(c, opts().namespace), 'GetPeerSystems', { Options: 3 });
    printResult('GetPeerSystems', r);
    return status(r);
  }));
}
