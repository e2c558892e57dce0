/**
 * The system's HTTP server (the `metrics:` address): `/metrics` (Prometheus text), `/healthz` (200
 * ready / 503 with what is not), `/api/sessions` (JSON), `/` (a JSON index; a browser is sent to
 * the dashboard page), plus the routes the composition root adds (http-routes.ts: faults, links,
 * dashboard). GET needs no authentication;
 * every other method needs `Authorization: Bearer <token>` when a token is configured (a
 * non-loopback bind needs a token or allowUnauthenticated, see src/config/exposure.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { SessionInfo } from '../system/session-info.ts';
import { healthReport, type HealthCheck } from './health.ts';
import { findRoute, HttpError, readJsonBody, type HttpMethod, type HttpRoute } from './http-routes.ts';

export interface SystemHttpOptions {
  readonly address: string;
  readonly port: number;
  readonly systemName: string;
  readonly registry: Registry;
  readonly health: readonly HealthCheck[];
  readonly sessions: () => SessionInfo[];
  /** Every target's IQN (listed in /api/sessions also when no one is logged in to it). */
  readonly targets: () => string[];
  /** More routes (fault API, link API, dashboard); the built-in paths above win. */
  readonly routes?: readonly HttpRoute[];
  /** When set, every request other than GET/HEAD must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** The body of GET /api/sessions. */
export interface SessionsListing {
  readonly system: string;
  readonly targets: readonly string[];
  readonly sessions: readonly SessionInfo[];
}

export interface SystemHttpServer {
  /** http://host:port (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

/** Where a browser asking for `/` is sent, when a route serves it (the dashboard page). */
export const BROWSER_INDEX = '/dashboard/';

export const ENDPOINTS = {
  '/metrics': 'Prometheus metrics (text exposition format)',
  '/healthz': '200 {ready: true, ...} when ready, 503 with what is not ready',
  '/api/sessions': 'iSCSI sessions logged in (JSON)',
} as const;

export async function startSystemHttp(options: SystemHttpOptions): Promise<SystemHttpServer> {
  const server = createServer((req, res) => {
    route(options, req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: (error as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function route(options: SystemHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const builtIn = path === '/' || path in ENDPOINTS;
  if (builtIn && method !== 'GET' && method !== 'HEAD') {
    sendJson(res, 405, { error: `${method} not allowed on ${path}; it answers GET` }, { allow: 'GET, HEAD' });
    return;
  }
  switch (builtIn ? path : '') {
    case '/':
      if ((req.headers.accept ?? '').includes('text/html') && 'route' in findRoute(options.routes ?? [], 'GET', BROWSER_INDEX)) {
        res.writeHead(302, { location: BROWSER_INDEX }).end();
        return;
      }
      sendJson(res, 200, { system: options.systemName, endpoints: endpointIndex(options.routes ?? []) });
      return;
    case '/metrics': {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType }).end(text);
      return;
    }
    case '/healthz': {
      const report = healthReport(options.systemName, options.health);
      sendJson(res, report.ready ? 200 : 503, report);
      return;
    }
    case '/api/sessions':
      sendJson(res, 200, { system: options.systemName, targets: options.targets(), sessions: options.sessions() } satisfies SessionsListing);
      return;
    default:
      break;
  }
  const found = findRoute(options.routes ?? [], method, path);
  if (!('route' in found)) {
    if (found.allowed.length > 0) {
      const allow = [...new Set(found.allowed)].join(', ');
      sendJson(res, 405, { error: `${method} not allowed on ${path}; it answers ${allow}` }, { allow });
    } else {
      sendJson(res, 404, { error: `no such endpoint: ${path}`, endpoints: endpointIndex(options.routes ?? []) });
    }
    return;
  }
  if (method !== 'GET' && method !== 'HEAD' && options.token !== undefined && !bearerMatches(req.headers.authorization, options.token)) {
    sendJson(res, 401, { error: `${method} ${path} needs Authorization: Bearer <token> (the metrics.token of this system)` }, { 'www-authenticate': 'Bearer' });
    return;
  }
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readJsonBody(req);
  const reply = await found.route.handle({
    method: found.route.method, path, params: found.params, query: url.searchParams, body, headers: req.headers, request: req, response: res,
  });
  if (reply === 'streaming') return;
  const headers = reply.headers ?? {};
  if (typeof reply.body === 'string' && reply.contentType !== undefined) {
    res.writeHead(reply.status, { 'content-type': reply.contentType, ...headers }).end(reply.body);
    return;
  }
  sendJson(res, reply.status, reply.body, headers);
}

/** The `/` index: built-in endpoints by path, added routes by `METHOD path`. */
function endpointIndex(routes: readonly HttpRoute[]): Record<string, string> {
  const index: Record<string, string> = { ...ENDPOINTS };
  for (const r of routes) {
    if (r.description !== undefined) index[`${r.method} ${typeof r.path === 'string' ? r.path : r.path.source}`] = r.description;
  }
  return index;
}

/** Constant-time comparison of the presented bearer token with the configured one. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (presented === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

export type { HttpMethod, HttpRoute };

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(`${JSON.stringify(body)}\n`);
}
