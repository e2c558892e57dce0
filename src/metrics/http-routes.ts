/**
 * Routes other parts of the system add to its HTTP server (the fault API, the link API, the
 * dashboard), handed in by the composition root. The server parses the JSON body, checks the bearer
 * token for every non-GET request and turns a thrown HttpError into `{error}` with its status, so a
 * route only says what it answers:
 *
 *   const route: HttpRoute = {
 *     method: 'DELETE', path: /^\/api\/faults\/([^/]+)$/, description: 'remove one fault rule',
 *     handle: ({ params }) => ({ status: 200, body: board.remove(params[0]) }),
 *   };
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteRequest {
  readonly method: HttpMethod;
  readonly path: string;
  /** The capture groups of a RegExp path (URL-decoded); empty for a string path. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** The parsed JSON body; undefined when the request had none (always for GET). */
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  /** For routes that answer themselves (server-sent events): write here and return 'streaming'. */
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

export interface RouteReply {
  readonly status: number;
  /** Sent as JSON; a string with `contentType` is sent as is. */
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpRoute {
  readonly method: HttpMethod;
  /** An exact path, or a RegExp matched against the whole path whose groups become `params`. */
  readonly path: string | RegExp;
  /** One line in the `/` index (key: `METHOD path`); routes without one are not listed. */
  readonly description?: string;
  handle(request: RouteRequest): RouteReply | 'streaming' | Promise<RouteReply | 'streaming'>;
}

/** Thrown by a route: answered as `{error: message}` with this status (400 names the bad field). */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The largest request body accepted (rules and link settings are small). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The route for this method and path, its params, or which methods the path allows (for 405). */
export function findRoute(routes: readonly HttpRoute[], method: string, path: string): { route: HttpRoute; params: string[] } | { allowed: HttpMethod[] } {
  const allowed: HttpMethod[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params === undefined) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    allowed.push(route.method);
  }
  return { allowed };
}

function matchPath(pattern: string | RegExp, path: string): string[] | undefined {
  if (typeof pattern === 'string') return pattern === path ? [] : undefined;
  const match = pattern.exec(path);
  if (match === null || match[0] !== path) return undefined;
  return match.slice(1).map((group) => decodeURIComponent(group ?? ''));
}

/** The JSON body of a request; undefined when empty. Throws HttpError 413 / 400 naming the problem. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`);
  }
}
