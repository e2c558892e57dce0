/** iSCSI protocol endpoints (one per target and portal group) as plain records, local or a peer's. */
import type { SystemView } from '../../system/view.ts';
import { endpointName, formatPortal } from './paths.ts';

export interface EndpointInfo {
  readonly systemName: string;
  readonly name: string;
  readonly targetName: string;
  readonly portalGroupTag: number;
  /** host:port of each portal of the group. */
  readonly portals: readonly string[];
}

export function localEndpoints(view: SystemView): EndpointInfo[] {
  const out: EndpointInfo[] = [];
  for (const target of view.targets) {
    for (const tpgt of target.portalGroupTags) {
      const portals = view.portals.filter((p) => p.portalGroupTag === tpgt).map((p) => formatPortal(p.address, p.port));
      out.push({ systemName: view.name, name: endpointName(target.iqn, tpgt), targetName: target.iqn, portalGroupTag: tpgt, portals });
    }
  }
  return out;
}
