/**
 * Peer systems learned by asking each configured peer's own CIM server (ReplicationService for its
 * name, its ComputerSystem, its endpoints). Request handlers only read the cache, so two systems
 * querying each other never wait on one another; methods that need fresh data call refresh().
 */
import type { PeerView } from '../../system/view.ts';
import { logger } from '../../util/log.ts';
import { CimClient, rawString, rawStrings } from '../client/client.ts';
import type { EndpointInfo } from '../model/endpoints.ts';
import { CLS } from '../model/paths.ts';
import { TARGET_NAMESPACE } from '../types.ts';

export interface PeerInfo {
  readonly configName: string;
  readonly cimUrl: string;
  /** The peer's own system name (as its CIM server reports it); the config name until reached. */
  readonly name: string;
  readonly reachable: boolean;
  readonly lastError?: string;
  readonly elementName?: string;
  readonly endpoints: readonly EndpointInfo[];
  readonly refreshedAt: number;
}

export class PeerDirectory {
  private readonly cache = new Map<string, PeerInfo>();
  private inflight: Promise<void> | undefined;

  constructor(private readonly peers: readonly PeerView[], private readonly timeoutMs = 10_000) {
    for (const p of peers) this.cache.set(p.cimUrl, { configName: p.name, cimUrl: p.cimUrl, name: p.name, reachable: false, endpoints: [], refreshedAt: 0 });
  }

  list(): PeerInfo[] {
    return [...this.cache.values()];
  }

  byName(name: string): PeerInfo | undefined {
    const lower = name.toLowerCase();
    return this.list().find((p) => p.name.toLowerCase() === lower || p.configName.toLowerCase() === lower);
  }

  /** Asks every peer once (concurrent callers share the round). Never throws. */
  refresh(): Promise<void> {
    this.inflight ??= Promise.all(this.peers.map((p) => this.refreshOne(p))).then(() => undefined).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async refreshOne(peer: PeerView): Promise<void> {
    const client = new CimClient({ url: peer.cimUrl, user: peer.user, password: peer.password, timeoutMs: this.timeoutMs, caFile: peer.ca, insecure: peer.insecure });
    const previous = this.cache.get(peer.cimUrl);
    try {
      const services = await client.enumerateInstances(TARGET_NAMESPACE, CLS.service);
      const name = services.map((s) => rawString(s.instance, 'SystemName')).find((n): n is string => !!n) ?? peer.name;
      const systems = await client.enumerateInstances(TARGET_NAMESPACE, CLS.system);
      const own = systems.find((s) => rawString(s.instance, 'Name') === name);
      const eps = await client.enumerateInstances(TARGET_NAMESPACE, CLS.endpoint);
      const endpoints: EndpointInfo[] = eps
        .filter((e) => rawString(e.instance, 'SystemName') === name)
        .map((e) => ({
          systemName: name,
          name: rawString(e.instance, 'Name') ?? '',
          targetName: rawString(e.instance, 'TargetName') ?? '',
          portalGroupTag: Number(rawString(e.instance, 'TargetPortalGroupTag') ?? 0),
          portals: rawStrings(e.instance, 'PortalAddresses'),
        }));
      this.cache.set(peer.cimUrl, { configName: peer.name, cimUrl: peer.cimUrl, name, reachable: true, elementName: own ? rawString(own.instance, 'ElementName') : undefined, endpoints, refreshedAt: Date.now() });
    } catch (err) {
      const message = (err as Error).message;
      if (previous?.reachable !== false || previous.lastError !== message) logger.child({ component: 'cim' }).warn({ peer: peer.name, url: peer.cimUrl, err: message }, 'peer CIM server not reachable');
      this.cache.set(peer.cimUrl, { ...(previous ?? { configName: peer.name, cimUrl: peer.cimUrl, name: peer.name, endpoints: [] }), reachable: false, lastError: message, refreshedAt: Date.now() });
    }
  }
}
