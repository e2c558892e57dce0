/**
 * The system's HTTP server (the `metrics:` address): `/metrics` (Prometheus text), `/healthz` (200
 * ready / 503 with what is not), `/api/sessions` (JSON) and `/` (a JSON index of these). GET only,
 * no authentication (a non-loopback bind needs allowUnauthenticated, see src/config/exposure.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { SessionInfo } from '../system/session-info.ts';
import { healthReport, type HealthCheck } from './health.ts';

export interface SystemHttpOptions {
  readonly address: string;
  readonly port: number;
  readonly systemName: string;
  readonly registry: Registry;
  readonly health: readonly HealthCheck[];
  readonly sessions: () => SessionInfo[];
  /** Every target's IQN (listed in /api/sessions also when no one is logged in to it). */
  readonly targets: () => string[];
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

export const ENDPOINTS = {
  '/metrics': 'Prometheus metrics (text exposition format)',
  '/healthz': '200 {ready: true, ...} when ready, 503 with what is not ready',
  '/api/sessions': 'iSCSI sessions logged in (JSON)',
} as const;

export async function startSystemHttp(options: SystemHttpOptions): Promise<SystemHttpServer> {
  const server = createServer((req, res) => {
    route(options, req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
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
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: `${req.method} not allowed; GET ${Object.keys(ENDPOINTS).join(', ')}` }, { allow: 'GET, HEAD' });
    return;
  }
  switch (path) {
    case '/':
      sendJson(res, 200, { system: options.systemName, endpoints: ENDPOINTS });
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
      sendJson(res, 404, { error: `no such endpoint: ${path}`, endpoints: ENDPOINTS });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(`${JSON.stringify(body)}\n`);
}
