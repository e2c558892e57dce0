/** CIM_ConcreteJob.RequestStateChange and GetError (DMTF CIM_ConcreteJob, DSP0223 CIM_Error). */
import { instance } from '../cimxml/serialize.ts';
import { schema } from '../schema/index.ts';
import { getKey, TARGET_NAMESPACE, type ObjectPath } from '../types.ts';
import { invalid, Ret, type MethodArgs, type MethodResult, type ProviderContext } from './method-types.ts';
import { JobState } from './jobs.ts';
import type { JobRecord } from './state-store.ts';

function jobOf(ctx: ProviderContext, target: ObjectPath): JobRecord | undefined {
  return ctx.sources.state.jobs.get(String(getKey(target, 'InstanceID') ?? ''));
}

export function requestStateChange(ctx: ProviderContext, args: MethodArgs, target: ObjectPath): Promise<MethodResult> {
  const job = jobOf(ctx, target);
  if (!job) return Promise.resolve(invalid('no such job'));
  const requested = args.number('RequestedState');
  if (requested === undefined) return Promise.resolve(invalid('RequestedState is required'));
  // 4 Terminate, 5 Kill: both stop the job; 2 Start, 3 Suspend, 6 Service are not offered.
  if (requested !== 4 && requested !== 5) return Promise.resolve({ returnValue: Ret.NotSupported, reason: `RequestedState ${requested} not supported` });
  return Promise.resolve({ returnValue: ctx.sources.jobs.terminate(job) });
}

export function getError(ctx: ProviderContext, _args: MethodArgs, target: ObjectPath): Promise<MethodResult> {
  const job = jobOf(ctx, target);
  if (!job) return Promise.resolve(invalid('no such job'));
  if (job.jobState !== JobState.Exception) return Promise.resolve({ returnValue: Ret.OK });
  const err = {
    className: 'CIM_Error', path: { className: 'CIM_Error', keys: {} },
    properties: {
      ErrorType: 4, OwningEntity: 'iscsi-sim', MessageID: `ISCSISIM${job.errorCode ?? 4}`, Message: job.errorDescription ?? 'failed',
      PerceivedSeverity: 6, ProbableCause: 0, CIMStatusCode: 1, ErrorSource: job.methodName,
    },
  };
  const xml = instance(err, schema().get('CIM_Error'), { host: 'localhost', defaultNamespace: TARGET_NAMESPACE });
  return Promise.resolve({ returnValue: Ret.OK, out: [{ name: 'Error', type: 'string', value: xml, embedded: true }] });
}
