/**
 * CreateRemoteReplicationCollection, AddToRemoteReplicationCollection and
 * RemoveFromRemoteReplicationCollection, as the Windows iSCSI Target provider documents them
 * (return 0 when nothing remote needs probing, 4096 + ConcreteJob while remote portals are probed,
 * 5 for references that are not ours / the named peer's, 6 for access points in another active
 * collection, 4 when the peer cannot be asked).
 */
import { logger } from '../../util/log.ts';
import type { EndpointInfo } from '../model/endpoints.ts';
import { collectionPath, jobPath } from '../model/paths.ts';
import type { ModelSources } from '../model/sources.ts';
import type { ObjectPath } from '../types.ts';
import { invalid, Ret, type MethodArgs, type MethodResult, type ProviderContext } from './method-types.ts';
import type { PeerInfo } from './peers.ts';
import { collectionHolding, resolveCollection, resolveLocalEndpoint, resolvePeer, resolveRemoteEndpoint } from './references.ts';
import { StatePersistError, type CollectionRecord } from './state-store.ts';

const log = () => logger.child({ component: 'cim' });

interface Resolved {
  readonly local: EndpointInfo[];
  readonly remote: EndpointInfo[];
  readonly system: PeerInfo | undefined;
}

/** Resolves and checks the access point arguments; a MethodResult means "stop with this code". */
async function resolveArgs(ctx: ProviderContext, args: MethodArgs, collection: CollectionRecord | undefined): Promise<Resolved | MethodResult> {
  const s = ctx.sources;
  const localRefs = args.refs('LocalAccessPoints') ?? [];
  const remoteRefs = args.refs('RemoteAccessPoints') ?? [];
  const systemRef = args.ref('RemoteComputerSystem');
  if (systemRef || remoteRefs.length) await s.peers.refresh();

  const local: EndpointInfo[] = [];
  for (const ref of localRefs) {
    const ep = resolveLocalEndpoint(s, ref);
    if (!ep) return invalid(`LocalAccessPoints: ${describe(ref)} is not an access point of ${s.view.name}`);
    local.push(ep);
  }
  let system: PeerInfo | undefined;
  if (systemRef) {
    system = resolvePeer(s, systemRef);
    if (!system) return invalid(`RemoteComputerSystem: ${describe(systemRef)} is not a known peer`);
    if (!system.reachable && remoteRefs.length) return { returnValue: Ret.Failed, reason: `peer ${system.name} cannot be reached: ${system.lastError ?? 'unknown error'}` };
  }
  let allowed: PeerInfo[];
  if (system) allowed = [system];
  else if (collection?.remoteSystems.length) allowed = s.peers.list().filter((p) => collection.remoteSystems.includes(p.name));
  else allowed = s.peers.list();
  const remote: EndpointInfo[] = [];
  for (const ref of remoteRefs) {
    const ep = resolveRemoteEndpoint(ref, allowed);
    if (!ep) {
      const unreachable = allowed.find((p) => !p.reachable);
      if (unreachable && !allowed.some((p) => p.reachable)) return { returnValue: Ret.Failed, reason: `peer ${unreachable.name} cannot be reached: ${unreachable.lastError ?? ''}` };
      return invalid(`RemoteAccessPoints: ${describe(ref)} is not an access point of ${allowed.map((p) => p.name).join(', ') || 'any peer'}`);
    }
    remote.push(ep);
  }
  if (!collection && !system && remote.length) {
    // The remote system is implied by its access points; they must all belong to one peer.
    const names = new Set(remote.map((r) => r.systemName));
    if (names.size > 1) return invalid('RemoteAccessPoints belong to more than one system');
    system = s.peers.byName([...names][0]);
  }
  const busy = inUse(s, local, remote, collection?.instanceId);
  if (busy) return { returnValue: Ret.InUse, reason: busy };
  return { local, remote, system };
}

function inUse(s: ModelSources, local: readonly EndpointInfo[], remote: readonly EndpointInfo[], except: string | undefined): string | undefined {
  for (const ep of [...local, ...remote]) {
    const holder = collectionHolding(s, ep.systemName, ep.name, except);
    if (holder) return `${ep.name} (${ep.systemName}) is already in active collection ${holder.instanceId}`;
  }
  return undefined;
}

function describe(p: ObjectPath): string {
  return `${p.className}.${Object.entries(p.keys).map(([k, v]) => `${k}=${typeof v === 'object' ? '<ref>' : String(v)}`).join(',')}`;
}

function isResult(x: Resolved | MethodResult): x is MethodResult {
  return 'returnValue' in x;
}

function merge(c: CollectionRecord, r: Resolved): void {
  for (const ep of r.local) if (!c.localAccessPoints.includes(ep.name)) c.localAccessPoints.push(ep.name);
  for (const ep of r.remote) {
    if (!c.remoteAccessPoints.some((x) => x.systemName === ep.systemName && x.name === ep.name)) c.remoteAccessPoints.push({ systemName: ep.systemName, name: ep.name });
    if (!c.remoteSystems.includes(ep.systemName)) c.remoteSystems.push(ep.systemName);
  }
  if (r.system && !c.remoteSystems.includes(r.system.name)) c.remoteSystems.push(r.system.name);
}

/**
 * Probes the remote endpoints in a ConcreteJob; `apply` runs when every probe succeeded and returns
 * the collection the job affected. Answers 4096 with the Job reference.
 */
function probeInJob(ctx: ProviderContext, method: string, elementName: string, remote: readonly EndpointInfo[], apply: () => Promise<string | MethodResult>): MethodResult {
  const s = ctx.sources;
  const { job, signal } = s.jobs.start(method, elementName);
  void (async () => {
    try {
      for (const [i, ep] of remote.entries()) {
        await ctx.probe(ep, signal);
        s.jobs.progress(job, ((i + 1) / remote.length) * 90);
      }
      if (signal.aborted) return;
      const applied = await apply();
      if (typeof applied === 'string') s.jobs.complete(job, [applied]);
      else s.jobs.fail(job, applied.returnValue, applied.reason ?? 'failed');
    } catch (err) {
      log().info({ job: job.instanceId, err: (err as Error).message }, 'remote access point probe failed');
      s.jobs.fail(job, Ret.Failed, (err as Error).message);
    }
  })();
  return { returnValue: Ret.JobStarted, out: [{ name: 'Job', type: 'ref:CIM_ConcreteJob', value: jobPath(job.instanceId) }] };
}

export async function createRemoteReplicationCollection(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const s = ctx.sources;
  const r = await resolveArgs(ctx, args, undefined);
  if (isResult(r)) return r;
  const elementName = args.string('ElementName') || `${s.view.name} to ${r.system?.name ?? 'remote'}`;
  const create = async (): Promise<string | MethodResult> => {
    const busy = inUse(s, r.local, r.remote, undefined);
    if (busy) return { returnValue: Ret.InUse, reason: busy };
    const c: CollectionRecord = {
      instanceId: s.state.newCollectionId(), elementName,
      active: args.bool('Active') ?? true, deleteOnUnassociated: args.bool('DeleteOnUnassociated') ?? false,
      connectivityStatus: r.remote.length ? 2 : 0, localAccessPoints: [], remoteAccessPoints: [], remoteSystems: [],
    };
    return persisted(s, () => {
      merge(c, r);
      s.state.collections.set(c.instanceId, c);
      return c.instanceId;
    });
  };
  if (r.remote.length) return probeInJob(ctx, 'CreateRemoteReplicationCollection', elementName, r.remote, create);
  const id = await create();
  if (typeof id !== 'string') return id;
  return { returnValue: Ret.OK, out: [{ name: 'ConnectivityCollection', type: 'ref:CIM_ConnectivityCollection', value: collectionPath(id) }] };
}

function requiredCollection(ctx: ProviderContext, args: MethodArgs): CollectionRecord | MethodResult {
  const ref = args.ref('ConnectivityCollection');
  if (!ref) return invalid('ConnectivityCollection is required');
  return resolveCollection(ctx.sources, ref) ?? invalid(`ConnectivityCollection ${describe(ref)} does not exist`);
}

export async function addToRemoteReplicationCollection(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const s = ctx.sources;
  const c = requiredCollection(ctx, args);
  if ('returnValue' in c) return c;
  const r = await resolveArgs(ctx, args, c);
  if (isResult(r)) return r;
  const add = async (): Promise<string | MethodResult> => {
    if (!s.state.collections.has(c.instanceId)) return { returnValue: Ret.Failed, reason: 'collection was deleted meanwhile' };
    const busy = inUse(s, r.local, r.remote, c.instanceId);
    if (busy) return { returnValue: Ret.InUse, reason: busy };
    return persisted(s, () => {
      merge(c, r);
      if (r.remote.length) c.connectivityStatus = 2;
      return c.instanceId;
    });
  };
  if (r.remote.length) return probeInJob(ctx, 'AddToRemoteReplicationCollection', c.elementName, r.remote, add);
  const done = await add();
  return typeof done === 'string' ? { returnValue: Ret.OK } : done;
}

export async function removeFromRemoteReplicationCollection(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const s = ctx.sources;
  const c = requiredCollection(ctx, args);
  if ('returnValue' in c) return c;
  const localRefs = args.refs('LocalAccessPoints') ?? [];
  const remoteRefs = args.refs('RemoteAccessPoints') ?? [];
  const systemRef = args.ref('RemoteComputerSystem');
  const local: string[] = [];
  for (const ref of localRefs) {
    const ep = resolveLocalEndpoint(s, ref);
    if (!ep || !c.localAccessPoints.includes(ep.name)) return invalid(`LocalAccessPoints: ${describe(ref)} is not in the collection`);
    local.push(ep.name);
  }
  const members = s.peers.list().filter((p) => c.remoteSystems.includes(p.name));
  const remote: EndpointInfo[] = [];
  for (const ref of remoteRefs) {
    const ep = resolveRemoteEndpoint(ref, members) ?? fromRecord(c, ref);
    if (!ep || !c.remoteAccessPoints.some((x) => x.systemName === ep.systemName && x.name === ep.name)) return invalid(`RemoteAccessPoints: ${describe(ref)} is not in the collection`);
    remote.push(ep);
  }
  let systemName: string | undefined;
  if (systemRef) {
    const peer = resolvePeer(s, systemRef);
    systemName = peer?.name ?? c.remoteSystems.find((n) => n.toLowerCase() === String(systemRef.keys.Name ?? '').toLowerCase());
    if (!systemName || !c.remoteSystems.includes(systemName)) return invalid(`RemoteComputerSystem ${describe(systemRef)} is not in the collection`);
  }
  const removed = await persisted(s, () => {
    c.localAccessPoints = c.localAccessPoints.filter((n) => !local.includes(n));
    c.remoteAccessPoints = c.remoteAccessPoints.filter((x) => !remote.some((r) => r.systemName === x.systemName && r.name === x.name));
    if (systemName) {
      c.remoteSystems = c.remoteSystems.filter((n) => n !== systemName);
      // Without RemoteAccessPoints the system goes with its access points (MOF description).
      if (remoteRefs.length === 0) c.remoteAccessPoints = c.remoteAccessPoints.filter((x) => x.systemName !== systemName);
    }
    if (c.deleteOnUnassociated && c.localAccessPoints.length === 0 && c.remoteAccessPoints.length === 0) s.state.collections.delete(c.instanceId);
    return c.instanceId;
  });
  if (typeof removed !== 'string') return removed;
  return { returnValue: Ret.OK };
}

/** Applies a collection change and saves it; a save that fails undoes the change and fails the method naming the file. */
async function persisted(s: ModelSources, mutate: () => string): Promise<string | MethodResult> {
  try {
    return await s.state.change(mutate);
  } catch (err) {
    if (err instanceof StatePersistError) return { returnValue: Ret.Failed, reason: err.message };
    throw err;
  }
}

/** A remote member whose peer is unreachable now can still be removed by its recorded keys. */
function fromRecord(c: CollectionRecord, ref: ObjectPath): EndpointInfo | undefined {
  const sys = String(ref.keys.SystemName ?? '');
  const name = String(ref.keys.Name ?? '');
  const hit = c.remoteAccessPoints.find((x) => x.systemName.toLowerCase() === sys.toLowerCase() && (x.name === name || x.name === safeDecode(name)));
  return hit ? { systemName: hit.systemName, name: hit.name, targetName: '', portalGroupTag: 0, portals: [] } : undefined;
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
