/**
 * The iSCSI fabric: portals (one net.Server each, IPv4 or IPv6, port 0 allowed) feeding connections,
 * any other Duplex handed in through handle(), and the session registry that status displays and CIM
 * read.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatHostPort } from '../config/portal-address.ts';
import { logger } from '../util/log.ts';
import type { PortalAddress, TargetCatalog } from './catalog.ts';
import { Connection, type ConnectionContext, type TransportInfo } from './connection.ts';
import type { SessionType } from './login.ts';
import type { SessionParameters } from './negotiation.ts';
import type { KeepAliveOptions } from './nop.ts';
import { SessionRegistry } from './session-registry.ts';
import { readIntoReusedBuffer } from './reused-receive.ts';

export interface SessionSummary {
  readonly initiatorName: string;
  readonly initiatorAlias: string | undefined;
  /** 12 hex digits. */
  readonly isid: string;
  readonly tsih: number;
  readonly sessionType: SessionType;
  /** Undefined for discovery sessions. */
  readonly target: string | undefined;
  readonly portal: PortalAddress;
  readonly initiatorAddress: string;
  readonly connections: number;
  readonly startedAt: Date;
  readonly outstandingTasks: number;
  readonly parameters: Readonly<SessionParameters>;
}

export interface FabricOptions {
  readonly keepAlive?: KeepAliveOptions;
  readonly queueDepth?: number;
  readonly loginTimeoutMs?: number;
  /** Write bytes one session may have solicited and buffered at once (default 256 MiB). */
  readonly writeBudgetBytes?: number;
  /** Bytes queued for one connection above which it stops reading new PDUs (default 64 MiB). */
  readonly sendBacklogBytes?: number;
  /** How long close() waits for initiators to answer its logout request (ms). */
  readonly logoutWaitMs?: number;
}

export interface Listening {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

const CLOSE_WAIT_MS = 3000;

function within(ms: number, work: Promise<unknown>): Promise<unknown> {
  return Promise.race([work, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}

export class IscsiFabric {
  private readonly registry = new SessionRegistry();
  private readonly servers = new Set<Server>();
  private readonly connections = new Set<Connection>();
  private readonly options: Required<FabricOptions>;

  constructor(
    private readonly catalog: TargetCatalog,
    options: FabricOptions = {},
  ) {
    this.options = {
      keepAlive: options.keepAlive ?? { idleMs: 15000, timeoutMs: 15000 },
      queueDepth: options.queueDepth ?? 128,
      loginTimeoutMs: options.loginTimeoutMs ?? 30000,
      logoutWaitMs: options.logoutWaitMs ?? 2000,
      writeBudgetBytes: options.writeBudgetBytes ?? 256 * 1024 * 1024,
      sendBacklogBytes: options.sendBacklogBytes ?? 64 * 1024 * 1024,
    };
  }

  async listen(portal: PortalAddress): Promise<Listening> {
    const log = logger.child({ component: 'iscsi' });
    // Paused: accept() re-wraps the socket to read into a reused buffer before anything is read.
    const server = createServer({ noDelay: true, pauseOnConnect: true });
    this.servers.add(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: portal.address, port: portal.port, ipv6Only: portal.address === '::' ? false : undefined }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : portal.port;
    const address = typeof bound === 'object' && bound ? bound.address : portal.address;
    // The portal as initiators will see it (port 0 resolved), used in login and SendTargets.
    const ctx = this.contextFor({ address: portal.address, port, portalGroupTag: portal.portalGroupTag });
    server.on('connection', (socket: Socket) => this.accept(socket, ctx));
    server.on('error', (error) => log.error({ err: error }, 'portal error'));
    log.info({ address, port, tpgt: portal.portalGroupTag }, 'portal listening');
    return {
      address,
      port,
      close: () => this.closeServer(server),
    };
  }

  private contextFor(portal: PortalAddress): ConnectionContext {
    return {
      catalog: this.catalog,
      registry: this.registry,
      portal,
      keepAlive: this.options.keepAlive,
      queueDepth: this.options.queueDepth,
      writeBudget: this.options.writeBudgetBytes,
      sendBacklogLimit: this.options.sendBacklogBytes,
      loginTimeoutMs: this.options.loginTimeoutMs,
    };
  }

  /** A portal's accepted socket: the socket niceties here, the protocol in handle(). */
  private accept(accepted: Socket, ctx: ConnectionContext): void {
    // "[::1]:40000" for IPv6, as portals are written (sessions listing, logs).
    const transport = { peer: formatHostPort(accepted.remoteAddress ?? '?', accepted.remotePort ?? 0), localAddress: accepted.localAddress };
    // Reads are delivered from the next turn of the event loop on, when the connection exists.
    const sink: { connection?: Connection } = {};
    const socket = readIntoReusedBuffer(accepted, (chunk) => sink.connection?.receive(chunk));
    if (socket === undefined) {
      accepted.setNoDelay(true);
      this.attach(accepted, transport, ctx, 'events');
      accepted.resume();
      return;
    }
    socket.setNoDelay(true);
    sink.connection = this.attach(socket, transport, ctx, 'reused');
  }

  /**
   * Runs an iSCSI connection over any byte stream as if it had arrived on `portal` (aedes'
   * `handle(stream)`): unit tests hand in one end of a duplex pair.
   */
  handle(stream: Duplex, transport: TransportInfo, portal: PortalAddress): void {
    this.attach(stream, transport, this.contextFor(portal), 'events');
  }

  private attach(stream: Duplex, transport: TransportInfo, ctx: ConnectionContext, reads: 'events' | 'reused'): Connection | undefined {
    try {
      const connection = new Connection(stream, transport, ctx, reads);
      this.connections.add(connection);
      void connection.closedPromise.then(() => this.connections.delete(connection));
      return connection;
    } catch (error) {
      logger.child({ component: 'iscsi' }).error({ err: error }, 'could not set up a connection');
      stream.destroy();
      return undefined;
    }
  }

  private async closeServer(server: Server): Promise<void> {
    if (!this.servers.delete(server)) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Stops every portal and closes every session: logged-in initiators are asked to log out first
   * (bounded wait), then whatever is left is dropped.
   */
  async close(): Promise<void> {
    const closing = [...this.servers].map((s) => this.closeServer(s));
    const connections = [...this.connections];
    const wait = this.options.logoutWaitMs;
    const asked = wait > 0 ? connections.filter((c) => c.requestLogout(Math.ceil(wait / 1000))) : [];
    for (const c of connections) if (!asked.includes(c)) c.drop('target shutting down');
    if (asked.length > 0) await within(wait, Promise.all(asked.map((c) => c.closedPromise)));
    for (const c of asked) c.drop('target shutting down');
    await within(CLOSE_WAIT_MS, Promise.all([...closing, ...connections.map((c) => c.closedPromise)]));
  }

  sessions(): readonly SessionSummary[] {
    return this.registry.all().map((s) => ({
      initiatorName: s.initiatorName,
      initiatorAlias: s.initiatorAlias,
      isid: s.isid,
      tsih: s.tsih,
      sessionType: s.sessionType,
      target: s.target?.iqn,
      portal: s.portal,
      initiatorAddress: s.initiatorAddress,
      connections: s.closed ? 0 : 1,
      startedAt: s.startedAt,
      outstandingTasks: s.tasks.size,
      parameters: { ...s.params },
    }));
  }
}
