/**
 * The lab's own dashboard: one page showing both systems (the same page as each system's, fed with
 * both). Every second it reads each system's current state (GET <system>/api/dashboard/state) and
 * keeps the lab's history and events itself, so a system that restarts or is taken down shows as
 * unreachable without a gap in the lab's plots before and after.
 *
 *   const dashboard = await startLabDashboard({ address: '127.0.0.1', port: 9466, systems });
 *   dashboard.url   // http://127.0.0.1:9466
 *   await dashboard.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DashboardFeed, dashboardRoutes, findRoute, HttpError, type DashboardState, type HttpMethod, type HttpRoute, type SystemState } from '../metrics/index.ts';

export interface LabDashboardSystem {
  readonly name: string;
  readonly role: 'primary' | 'peer';
  /** The system's HTTP server, e.g. http://127.0.0.1:9464. */
  readonly httpUrl: string;
}

export interface LabDashboardOptions {
  readonly address: string;
  readonly port: number;
  readonly systems: readonly LabDashboardSystem[];
  /** @defaultValue 1000 */
  readonly intervalMs?: number;
}

export interface LabDashboard {
  /** http://host:port (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

const READ_TIMEOUT_MS = 2000;

export async function startLabDashboard(options: LabDashboardOptions): Promise<LabDashboard> {
  const feed = new DashboardFeed({
    title: 'lab',
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    collect: () => Promise.all(options.systems.map(readSystem)),
  });
  const routes = dashboardRoutes(feed);
  const server = createServer((req, res) => {
    route(routes, options, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(error instanceof HttpError ? error.status : 500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(error as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`lab dashboard: cannot listen on ${options.address}:${options.port}: ${error.code ?? error.message}`)));
    server.listen(options.port, options.address, () => resolve());
  });
  feed.start();
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}`,
    close: async () => {
      await feed.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** GET only: the dashboard's routes; `/` sends a browser to the page and lists the systems otherwise. */
async function route(routes: readonly HttpRoute[], options: LabDashboardOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} not allowed: the lab's dashboard only answers GET`);
  if (url.pathname === '/') {
    if ((req.headers.accept ?? '').includes('text/html')) { res.writeHead(302, { location: '/dashboard/' }).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(`${JSON.stringify({ lab: true, page: '/dashboard/', systems: options.systems })}\n`);
    return;
  }
  const found = findRoute(routes, method, url.pathname);
  if (!('route' in found)) throw new HttpError(404, `no such page: ${url.pathname} (the dashboard is at /dashboard/)`);
  const reply = await found.route.handle({
    method: method as HttpMethod, path: url.pathname, params: found.params, query: url.searchParams, body: undefined, headers: req.headers, request: req, response: res,
  });
  if (reply === 'streaming') return;
  const text = typeof reply.body === 'string' && reply.contentType !== undefined;
  res.writeHead(reply.status, { 'content-type': text ? reply.contentType! : 'application/json; charset=utf-8', ...reply.headers })
    .end(text ? reply.body as string : `${JSON.stringify(reply.body)}\n`);
}

async function readSystem(system: LabDashboardSystem): Promise<SystemState> {
  try {
    const response = await fetch(`${system.httpUrl}/api/dashboard/state`, { signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${system.httpUrl}`);
    const state = await response.json() as DashboardState;
    const own = state.systems.find((s) => s.name === system.name) ?? state.systems[0];
    if (!own) throw new Error(`${system.httpUrl} reported no system yet`);
    return { ...own, role: system.role };
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer from ${system.httpUrl} within ${READ_TIMEOUT_MS / 1000} s` : causeOf(error, system.httpUrl);
    return { name: system.name, role: system.role, reachable: false, error: reason, ready: false, problems: [], portals: [], targets: [], sessions: [], pairs: [] };
  }
}

/** fetch's "fetch failed" says nothing; its cause (ECONNREFUSED …) does. */
function causeOf(error: unknown, url: string): string {
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  return `${cause?.code ?? (error as Error).message} (${url})`;
}
