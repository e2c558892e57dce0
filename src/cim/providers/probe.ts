/**
 * Reaching a remote access point: an iSCSI discovery session to each portal of the endpoint, which
 * must list the endpoint's target. Injected so unit tests can fake the network.
 */
import { discoverTargets } from '../../initiator/discovery.ts';
import type { EndpointInfo } from '../model/endpoints.ts';

export type PortalProber = (endpoint: EndpointInfo, signal: AbortSignal) => Promise<void>;

export function discoveryProber(timeoutMs = 10_000, initiatorName?: string): PortalProber {
  return async (endpoint, signal) => {
    if (endpoint.portals.length === 0) throw new Error(`endpoint ${endpoint.name} has no portal address`);
    for (const portal of endpoint.portals) {
      let targets;
      try {
        targets = await discoverTargets(portal, { timeoutMs, signal, initiatorName });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new Error(`remote portal ${portal} of ${endpoint.systemName}: ${e.code ?? e.message}`, { cause: err });
      }
      if (endpoint.targetName && !targets.some((t) => t.name === endpoint.targetName)) {
        throw new Error(`remote portal ${portal} does not offer target ${endpoint.targetName}`);
      }
    }
  };
}
