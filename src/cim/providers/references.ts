/**
 * Resolving method arguments (references) to the objects they name: local endpoints, peer systems
 * and their endpoints, collections. Key values are compared exactly, then percent-decoded, because
 * wbemcli's ref-array argument parser splits on '.', so dots in an IQN must be sent as %2E.
 */
import type { EndpointInfo } from '../model/endpoints.ts';
import { localEndpoints } from '../model/endpoints.ts';
import type { ModelSources } from '../model/sources.ts';
import { schema } from '../schema/index.ts';
import { getKey, type ObjectPath } from '../types.ts';
import type { PeerInfo } from './peers.ts';
import type { CollectionRecord } from './state-store.ts';

function decoded(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function keyEquals(path: ObjectPath, key: string, expected: string, caseInsensitive = false): boolean {
  const v = getKey(path, key);
  if (v === undefined || typeof v === 'object') return false;
  const s = String(v);
  if (caseInsensitive) return s.toLowerCase() === expected.toLowerCase() || decoded(s).toLowerCase() === expected.toLowerCase();
  return s === expected || decoded(s) === expected;
}

function isClass(path: ObjectPath, ancestor: string): boolean {
  return schema().has(path.className) && schema().isA(path.className, ancestor);
}

export function resolveLocalEndpoint(s: ModelSources, path: ObjectPath): EndpointInfo | undefined {
  if (!isClass(path, 'CIM_ServiceAccessPoint') || !keyEquals(path, 'SystemName', s.view.name, true)) return undefined;
  return localEndpoints(s.view).find((e) => keyEquals(path, 'Name', e.name));
}

export function resolvePeer(s: ModelSources, path: ObjectPath): PeerInfo | undefined {
  if (!isClass(path, 'CIM_ComputerSystem')) return undefined;
  const name = getKey(path, 'Name');
  if (typeof name !== 'string') return undefined;
  return s.peers.byName(name) ?? s.peers.byName(decoded(name));
}

export function isLocalSystem(s: ModelSources, path: ObjectPath): boolean {
  return isClass(path, 'CIM_ComputerSystem') && keyEquals(path, 'Name', s.view.name, true);
}

/** A remote endpoint of one of `peers`. */
export function resolveRemoteEndpoint(path: ObjectPath, peers: readonly PeerInfo[]): EndpointInfo | undefined {
  if (!isClass(path, 'CIM_ServiceAccessPoint')) return undefined;
  for (const peer of peers) {
    if (!keyEquals(path, 'SystemName', peer.name, true) && !keyEquals(path, 'SystemName', peer.configName, true)) continue;
    const ep = peer.endpoints.find((e) => keyEquals(path, 'Name', e.name));
    if (ep) return ep;
  }
  return undefined;
}

export function resolveCollection(s: ModelSources, path: ObjectPath): CollectionRecord | undefined {
  if (!isClass(path, 'CIM_ConnectivityCollection')) return undefined;
  const id = getKey(path, 'InstanceID');
  if (typeof id !== 'string') return undefined;
  return s.state.collections.get(id) ?? s.state.collections.get(decoded(id));
}

/** The active collection (other than `except`) already holding this access point, if any. */
export function collectionHolding(s: ModelSources, systemName: string, endpointName: string, except?: string): CollectionRecord | undefined {
  for (const c of s.state.collections.values()) {
    if (!c.active || c.instanceId === except) continue;
    if (systemName === s.view.name ? c.localAccessPoints.includes(endpointName) : c.remoteAccessPoints.some((r) => r.systemName === systemName && r.name === endpointName)) return c;
  }
  return undefined;
}
