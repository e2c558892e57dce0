/**
 * Entry point the system assembly calls: start the CIM-XML server over a live SystemView.
 * Collections and jobs persist in the system's state dir; peers are learned from their CIM servers.
 */
import type { AddressInfo } from 'node:net';
import type { CimConfig } from '../config/types.ts';
import type { SystemView } from '../system/view.ts';
import { logger } from '../util/log.ts';
import type { ModelSources } from './model/sources.ts';
import { JobManager } from './providers/jobs.ts';
import { PeerDirectory } from './providers/peers.ts';
import { discoveryProber, type PortalProber } from './providers/probe.ts';
import { unsupportedEngine, type ReplicationEngine } from './providers/replication-engine.ts';
import { CimStateStore } from './providers/state-store.ts';
import { CimDispatcher } from './server/dispatch.ts';
import { loadCimCertificate } from './server/certificate.ts';
import { createCimHttpServer } from './server/http.ts';

export type { ReplicationEngine } from './providers/replication-engine.ts';

export interface CimServerHandle {
  readonly url: string;
  /** Over HTTPS: the certificate's PEM file (clients trust it as their CA). */
  readonly certificateFile?: string;
  /** Replaces the replication engine (the replication layer registers itself once running). */
  setReplicationEngine(engine: ReplicationEngine): void;
  /** Re-asks the peers now (normally every refresh interval). */
  refreshPeers(): Promise<void>;
  /** What the last save of collections and jobs could not write; undefined when the file is current. */
  persistProblem(): string | undefined;
  close(): Promise<void>;
}

export interface CimServerExtras {
  readonly engine?: ReplicationEngine;
  readonly probe?: PortalProber;
  /** Persist collections/jobs (default true; false keeps them in memory). */
  readonly persist?: boolean;
  readonly peerRefreshMs?: number;
  readonly peerTimeoutMs?: number;
}

export async function startCimServer(view: SystemView, cim: CimConfig, extras: CimServerExtras = {}): Promise<CimServerHandle> {
  const state = new CimStateStore(extras.persist === false ? undefined : view.stateDir, view.name);
  await state.load();
  const jobs = new JobManager(state);
  jobs.recoverAfterRestart();
  const peers = new PeerDirectory(view.peers, extras.peerTimeoutMs ?? 10_000);
  const sources: { -readonly [K in keyof ModelSources]: ModelSources[K] } = { view, state, jobs, peers, engine: extras.engine ?? unsupportedEngine };
  const dispatcher = new CimDispatcher(sources, extras.probe ?? discoveryProber());
  const certificate = cim.https === undefined ? undefined : await loadCimCertificate(cim.https, view.stateDir, view.name, cim.address);
  const server = createCimHttpServer(dispatcher, {
    user: cim.user, password: cim.password, allowBasicAuthOverHttp: cim.allowBasicAuthOverHttp,
    ...(certificate === undefined ? {} : { tls: { cert: certificate.cert, key: certificate.key } }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cim.port, cim.address, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${certificate === undefined ? 'http' : 'https'}://${host}:${addr.port}`;
  logger.child({ component: 'cim' }).info({ url, namespace: 'root/cimv2/storage/iscsitarget', ...(certificate === undefined ? {} : { certificate: certificate.certFile }) }, 'CIM-XML server listening');
  void peers.refresh();
  const timer = setInterval(() => void peers.refresh(), extras.peerRefreshMs ?? 10_000);
  timer.unref();
  return {
    url,
    ...(certificate === undefined ? {} : { certificateFile: certificate.certFile }),
    setReplicationEngine: (engine) => {
      sources.engine = engine;
    },
    refreshPeers: () => peers.refresh(),
    persistProblem: () => state.persistProblem(),
    close: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await state.save();
    },
  };
}
