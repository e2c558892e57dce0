/**
 * References to elements another system owns (the peer's volume in a StorageSynchronized) carry that
 * system's CIM server as HOST, so a client can follow them: `wbemcli gi` of the printed reference
 * asks the server that has the instance. Without it HOST is the server answering, which has no such
 * instance (CIM_ERR_NOT_FOUND).
 */
import type { PeerDirectory } from '../providers/peers.ts';
import { getKey, type ObjectPath } from '../types.ts';

export function atOwningServer(path: ObjectPath, me: string, peers: PeerDirectory): ObjectPath {
  const system = getKey(path, 'SystemName');
  if (typeof system !== 'string' || system.toLowerCase() === me.toLowerCase()) return path;
  const peer = peers.byName(system);
  if (peer === undefined) return path;
  try {
    return { ...path, host: new URL(peer.cimUrl).host };
  } catch {
    return path;
  }
}
