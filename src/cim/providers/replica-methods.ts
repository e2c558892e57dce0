/**
 * CreateElementReplica, ModifyReplicaSynchronization, GetReplicationRelationships: argument checks
 * here, the work in the ReplicationEngine (1 Not Supported until one is registered).
 */
import { atOwningServer } from '../model/owner-host.ts';
import { CLS, jobPath } from '../model/paths.ts';
import { getKey, samePath, type ObjectPath } from '../types.ts';
import { invalid, Ret, type MethodArgs, type MethodResult, type ProviderContext } from './method-types.ts';
import type { MethodOutcome } from './replication-engine.ts';
import { resolveCollection } from './references.ts';

function engineOn(ctx: ProviderContext): boolean {
  return ctx.sources.engine.supportedReplicationTypes.length > 0;
}

/** On 4096 the engine's work runs as a ConcreteJob; `affected` is reachable from it (AffectedJobElement). */
function fromOutcome(ctx: ProviderContext, method: string, o: MethodOutcome, extra: { name: string; type: string; value: ObjectPath }[] = [], affected: ObjectPath[] = []): MethodResult {
  if (o.returnValue !== Ret.JobStarted) return { returnValue: o.returnValue, reason: o.description, out: o.returnValue === Ret.OK ? extra : [] };
  const { job } = ctx.sources.jobs.start(method, method);
  const jobs = ctx.sources.jobs;
  void (o.completion ?? Promise.resolve()).then(() => jobs.complete(job, [], affected), (err: unknown) => jobs.fail(job, Ret.Failed, (err as Error).message));
  return { returnValue: Ret.JobStarted, out: [{ name: 'Job', type: 'ref:CIM_ConcreteJob', value: jobPath(job.instanceId) }] };
}

export async function createElementReplica(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  if (!engineOn(ctx)) return { returnValue: Ret.NotSupported, reason: 'replication engine not available' };
  const syncType = args.number('SyncType');
  if (syncType === undefined) return invalid('SyncType is required');
  if (syncType !== 6) return { returnValue: Ret.NotSupported, reason: 'only SyncType 6 (Mirror) is supported' };
  const mode = args.number('Mode');
  if (mode !== undefined && mode !== 2 && mode !== 3) return invalid('Mode must be 2 (Synchronous) or 3 (Asynchronous)');
  const source = args.ref('SourceElement');
  if (!source) return invalid('SourceElement is required');
  const collectionRef = args.ref('ConnectivityCollection');
  const collection = collectionRef ? resolveCollection(ctx.sources, collectionRef) : undefined;
  if (collectionRef && !collection) return invalid('ConnectivityCollection does not exist');
  const o = await ctx.sources.engine.createElementReplica({
    elementName: args.string('ElementName'), syncType, mode, source, target: args.ref('TargetElement'), collectionId: collection?.instanceId,
  });
  const sync = o.synchronization;
  return fromOutcome(ctx, 'CreateElementReplica', o, sync ? [{ name: 'Synchronization', type: 'ref:CIM_Synchronized', value: sync }] : [], sync ? [sync] : []);
}

export async function modifyReplicaSynchronization(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  if (!engineOn(ctx)) return { returnValue: Ret.NotSupported, reason: 'replication engine not available' };
  const operation = args.number('Operation');
  const sync = args.ref('Synchronization');
  if (operation === undefined || !sync) return invalid('Operation and Synchronization are required');
  if (!ctx.sources.engine.supportedOperations.includes(operation)) return { returnValue: Ret.NotSupported, reason: `operation ${operation} not supported` };
  const [system, synced] = [asRef(getKey(sync, 'SystemElement')), asRef(getKey(sync, 'SyncedElement'))];
  // Either orientation: Failover reverses the relationship, a path taken before it still names the pair.
  const known = ctx.sources.engine.synchronizations().some((x) => (samePath(x.source, system) && samePath(x.target, synced)) || (samePath(x.source, synced) && samePath(x.target, system)));
  if (!known) return invalid('Synchronization does not exist');
  return fromOutcome(ctx, 'ModifyReplicaSynchronization', await ctx.sources.engine.modifyReplicaSynchronization(operation, sync, args.bool('Force') ?? false), [], [sync]);
}

/** Vendor VerifyReplica: synchronous (the digests take seconds per GiB); 0 even when divergent. */
export async function verifyReplica(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const engine = ctx.sources.engine;
  if (!engineOn(ctx) || !engine.verifyReplica) return { returnValue: Ret.NotSupported, reason: 'replication engine not available' };
  const sync = args.ref('Synchronization');
  if (!sync) return invalid('Synchronization is required');
  const o = await engine.verifyReplica(sync, args.bool('Repair') ?? false);
  if (o.returnValue !== Ret.OK) return { returnValue: o.returnValue, reason: o.description };
  return {
    returnValue: Ret.OK,
    out: [
      { name: 'ChunkBytes', type: 'uint64', value: o.chunkBytes ?? 0 },
      { name: 'ComparedChunks', type: 'uint64', value: o.comparedChunks ?? 0 },
      { name: 'InFluxChunks', type: 'uint64', value: o.inFluxChunks ?? 0 },
      { name: 'DivergentOffsets', type: 'uint64[]', value: [...(o.divergentOffsets ?? [])] },
      { name: 'Repaired', type: 'boolean', value: o.repaired ?? false },
    ],
  };
}

/** Vendor ResolveSplitBrain: 4096 + job until the kept side streams and the other converged. */
export async function resolveSplitBrain(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const engine = ctx.sources.engine;
  return splitBrainMethod(ctx, args, 'ResolveSplitBrain', 'KeepSystem', engine.resolveSplitBrain?.bind(engine));
}

/** Vendor SetSplitBrainPolicy: manual, discard-zero-changes, discard-least-changes. */
export async function setSplitBrainPolicy(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const engine = ctx.sources.engine;
  return splitBrainMethod(ctx, args, 'SetSplitBrainPolicy', 'Policy', engine.setSplitBrainPolicy?.bind(engine));
}

/** A vendor split-brain method: the Synchronization and one required string `argument`, handed to `call`. */
async function splitBrainMethod(ctx: ProviderContext, args: MethodArgs, method: string, argument: string,
  call: ((sync: ObjectPath, value: string) => Promise<MethodOutcome>) | undefined): Promise<MethodResult> {
  if (!engineOn(ctx) || !call) return { returnValue: Ret.NotSupported, reason: 'replication engine not available' };
  const sync = args.ref('Synchronization');
  const value = args.string(argument);
  if (!sync || !value) return invalid(`Synchronization and ${argument} are required`);
  return fromOutcome(ctx, method, await call(sync, value), [], [sync]);
}

function asRef(v: unknown): ObjectPath {
  return typeof v === 'object' && v !== null ? (v as ObjectPath) : { className: '', keys: {} };
}

export function getReplicationRelationships(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  if (!engineOn(ctx)) return Promise.resolve({ returnValue: Ret.NotSupported, reason: 'replication engine not available' });
  const type = args.number('Type');
  if (type !== undefined && type !== 2) return Promise.resolve({ returnValue: Ret.OK, out: [{ name: 'Synchronizations', type: 'ref:CIM_Synchronized[]', value: [] }] });
  const syncType = args.number('SyncType');
  const mode = args.number('Mode');
  const copyState = args.number('CopyState');
  const me = ctx.sources.view.name;
  const paths = ctx.sources.engine.synchronizations()
    .filter((x) => (syncType === undefined || syncType === 6) && (mode === undefined || x.mode === mode) && (copyState === undefined || x.copyState === copyState))
    .map((x): ObjectPath => ({ className: CLS.synchronized, keys: { SystemElement: atOwningServer(x.source, me, ctx.sources.peers), SyncedElement: atOwningServer(x.target, me, ctx.sources.peers) } }));
  return Promise.resolve({ returnValue: Ret.OK, out: [{ name: 'Synchronizations', type: 'ref:CIM_Synchronized[]', value: paths }] });
}
