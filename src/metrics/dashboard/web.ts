/**
 * The dashboard over HTTP, as routes (http-routes.ts) for a system's HTTP server and for the lab's:
 * the page and its static files (web/dashboard/ in the project; uPlot from node_modules, so the page
 * loads with no internet), the snapshot as JSON and the live updates as Server-Sent Events.
 *
 *   GET /dashboard/                 the page (a browser asking for / is sent here)
 *   GET /dashboard/<file>           its script and style; /dashboard/vendor/uPlot.* the chart library
 *   GET /api/dashboard              DashboardSnapshot: state, the last 15 minutes of samples, events
 *   GET /api/dashboard/state        the current DashboardState only (what the lab reads of a system)
 *   GET /api/dashboard/stream       text/event-stream: `snapshot` once, then an `update` a second
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, type HttpRoute, type RouteReply, type RouteRequest } from '../http-routes.ts';
import type { DashboardFeed } from './feed.ts';

/** web/dashboard/ of the project: three levels above src/metrics/dashboard/ and dist/metrics/dashboard/. */
export const PAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web', 'dashboard');
/** Where a browser asking for `/` is sent. */
export const DASHBOARD_PAGE = '/dashboard/';
const PAGE_FILES = new Set(['dashboard.js', 'dashboard.css']);
/** The chart library's files as the page names them → the path inside the uplot package. */
const VENDOR_FILES: Readonly<Record<string, string>> = {
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

const requireFromHere = createRequire(import.meta.url);

/** Where a vendored file is on disk; undefined for a name the page does not use. */
export function vendorFile(name: string): string | undefined {
  const specifier = VENDOR_FILES[name];
  return specifier === undefined ? undefined : requireFromHere.resolve(specifier);
}

export function dashboardRoutes(feed: DashboardFeed): HttpRoute[] {
  return [
    { method: 'GET', path: '/dashboard', handle: () => ({ status: 308, body: '', contentType: 'text/plain', headers: { location: DASHBOARD_PAGE } }) },
    { method: 'GET', path: DASHBOARD_PAGE, description: 'the dashboard page (a browser asking for / is sent here)', handle: () => file(join(PAGE_DIR, 'index.html')) },
    {
      method: 'GET', path: /^\/dashboard\/vendor\/([^/]+)$/,
      handle: ({ params }) => {
        const found = vendorFile(params[0]!);
        if (found === undefined) throw new HttpError(404, `no such file: ${params[0]}`);
        return file(found);
      },
    },
    {
      method: 'GET', path: /^\/dashboard\/([^/]+)$/,
      handle: ({ params }) => {
        if (!PAGE_FILES.has(params[0]!)) throw new HttpError(404, `no such file: ${params[0]}`);
        return file(join(PAGE_DIR, params[0]!));
      },
    },
    { method: 'GET', path: '/api/dashboard', description: 'dashboard snapshot: state, last 15 minutes of samples, events (JSON)', handle: () => json(feed.snapshot()) },
    { method: 'GET', path: '/api/dashboard/state', description: 'dashboard state now (JSON)', handle: () => json(feed.snapshot().state) },
    { method: 'GET', path: '/api/dashboard/stream', description: 'dashboard live updates (Server-Sent Events)', handle: (request) => stream(feed, request) },
  ];
}

async function file(path: string): Promise<RouteReply> {
  return { status: 200, body: await readFile(path, 'utf8'), contentType: CONTENT_TYPES[extname(path)] ?? 'text/plain; charset=utf-8', headers: { 'cache-control': 'no-cache' } };
}

function json(body: unknown): RouteReply {
  return { status: 200, body, headers: { 'cache-control': 'no-store' } };
}

function stream(feed: DashboardFeed, { request, response }: RouteRequest): 'streaming' {
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  if (request.method === 'HEAD') { response.end(); return 'streaming'; }
  // A browser reconnects after 2 s when the server went away (a restarted system).
  response.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(feed.snapshot())}\n\n`);
  const unsubscribe = feed.subscribe((update) => response.write(`event: update\ndata: ${JSON.stringify(update)}\n\n`));
  request.once('close', unsubscribe);
  response.once('close', unsubscribe);
  return 'streaming';
}
