/** GetPeerSystems and GetServiceAccessPoints (CIM_ReplicationService, DMTF 2.41). */
import { localEndpoints } from '../model/endpoints.ts';
import { endpointPath, systemPath } from '../model/paths.ts';
import type { ObjectPath } from '../types.ts';
import { invalid, Ret, type MethodArgs, type MethodResult, type ProviderContext } from './method-types.ts';
import { isLocalSystem, resolvePeer } from './references.ts';

/**
 * Options NULL: every configured peer; 2: only reachable ones; 3: reachable ones with access points,
 * as parallel (Indexed) arrays: one row per remote endpoint, paired with a local endpoint in turn.
 */
export async function getPeerSystems(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const s = ctx.sources;
  const options = args.number('Options');
  if (options !== undefined && options !== 2 && options !== 3) return invalid(`Options ${options} is not supported`);
  await s.peers.refresh();
  const peers = s.peers.list().filter((p) => options === undefined || p.reachable);
  if (options !== 3) return { returnValue: Ret.OK, out: [{ name: 'Systems', type: 'ref:CIM_ComputerSystem[]', value: peers.map((p) => systemPath(p.name)) }] };
  const locals = localEndpoints(s.view);
  const systems: ObjectPath[] = [];
  const local: ObjectPath[] = [];
  const remote: ObjectPath[] = [];
  for (const p of peers) {
    for (const ep of p.endpoints) {
      if (locals.length === 0) break;
      systems.push(systemPath(p.name));
      local.push(endpointPath(s.view.name, locals[remote.length % locals.length].name));
      remote.push(endpointPath(p.name, ep.name));
    }
  }
  return {
    returnValue: Ret.OK,
    out: [
      { name: 'Systems', type: 'ref:CIM_ComputerSystem[]', value: systems },
      { name: 'LocalAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', value: local },
      { name: 'RemoteAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', value: remote },
    ],
  };
}

export async function getServiceAccessPoints(ctx: ProviderContext, args: MethodArgs): Promise<MethodResult> {
  const s = ctx.sources;
  const ref = args.ref('System');
  if (!ref) return invalid('System is required');
  let points: ObjectPath[];
  if (isLocalSystem(s, ref)) {
    points = localEndpoints(s.view).map((e) => endpointPath(s.view.name, e.name));
  } else {
    await s.peers.refresh();
    const peer = resolvePeer(s, ref);
    if (!peer) return invalid('System is neither this system nor a known peer');
    if (!peer.reachable) return { returnValue: Ret.Failed, reason: `peer ${peer.name} cannot be reached` };
    points = peer.endpoints.map((e) => endpointPath(peer.name, e.name));
  }
  return { returnValue: Ret.OK, out: [{ name: 'ServiceAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', value: points }] };
}
