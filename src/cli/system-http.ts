/**
 * A small JSON client for the systems' HTTP APIs (/api/links, /api/faults): which systems to ask (a
 * lab's lab.json, or URLs given), the bearer token for changes, a deadline on every request, and
 * errors that say which system answered what.
 */
import { labSystemsFrom } from './lab-endpoint.ts';
import { httpBaseOf } from './system-sessions.ts';

export interface SystemEndpoint {
  /** The system's name (from lab.json), or its URL when given by hand. */
  readonly name: string;
  /** Base URL of its HTTP server, e.g. http://127.0.0.1:9464 (no path). */
  readonly url: string;
}

export const HTTP_DEADLINE_MS = 5000;

export class SystemHttpError extends Error {
  constructor(readonly system: string, readonly status: number | undefined, message: string) {
    super(message);
    this.name = 'SystemHttpError';
  }
}

/**
 * `urls` when given (each a system's HTTP base URL or its /metrics URL); else every system of the lab
 * in `stateDir` that has an HTTP server. Throws naming what is missing.
 */
export async function systemEndpoints(options: { urls?: readonly string[]; stateDir: string }): Promise<SystemEndpoint[]> {
  if (options.urls !== undefined && options.urls.length > 0) return options.urls.map((url) => ({ name: httpBaseOf(url), url: httpBaseOf(url).replace(/\/$/, '') }));
  const systems = await labSystemsFrom(options.stateDir);
  if (systems === undefined) throw new Error(`no system to ask: give --http URL, or run it next to a lab (${options.stateDir}/lab.json not found)`);
  const endpoints = systems.flatMap((s) => (s.metricsUrl === undefined ? [] : [{ name: s.name, url: httpBaseOf(s.metricsUrl) }]));
  if (endpoints.length === 0) throw new Error(`the lab in ${options.stateDir} lists no system with an HTTP server`);
  return endpoints;
}

/** One request; resolves with the JSON answer of a 2xx, rejects with SystemHttpError otherwise. */
export async function requestJson<T>(endpoint: SystemEndpoint, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token?: string, timeoutMs = HTTP_DEADLINE_MS): Promise<T> {
  const url = `${endpoint.url}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new SystemHttpError(endpoint.name, undefined, `${endpoint.name}: not answering on ${url} (${reason})`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const reason = (parsed as { error?: string } | undefined)?.error ?? (text.slice(0, 200) || response.statusText);
    throw new SystemHttpError(endpoint.name, response.status, `${endpoint.name}: ${method} ${path} answered ${response.status}: ${reason}`);
  }
  return parsed as T;
}

/** One system's answer to a GET, or why there is none. */
export type SystemAnswer<T> = { readonly endpoint: SystemEndpoint; readonly answer: T } | { readonly endpoint: SystemEndpoint; readonly error: string };

/** GET `path` from every system at once; a system that fails is an error in its row, not a rejection. */
export async function getFromEach<T>(endpoints: readonly SystemEndpoint[], path: string, timeoutMs?: number): Promise<Array<SystemAnswer<T>>> {
  return Promise.all(endpoints.map(async (endpoint): Promise<SystemAnswer<T>> => {
    try {
      return { endpoint, answer: await requestJson<T>(endpoint, 'GET', path, undefined, undefined, timeoutMs) };
    } catch (error) {
      return { endpoint, error: (error as Error).message };
    }
  }));
}

/** A system's list of `key` (GET /api/faults: rules, /api/links: links), or why there is none. */
export type SystemListing<K extends string, T> = { readonly endpoint: SystemEndpoint; readonly system?: string; readonly error?: string } & { readonly [key in K]?: readonly T[] };

/** Every system's `{system, [key]: [...]}` answer to GET `path`, as rows (a failure is its row's error). */
export async function readListings<K extends string, T>(endpoints: readonly SystemEndpoint[], path: string, key: K, timeoutMs?: number): Promise<Array<SystemListing<K, T>>> {
  const answers = await getFromEach<{ system: string } & Record<K, T[]>>(endpoints, path, timeoutMs);
  return answers.map((row): SystemListing<K, T> => ('answer' in row
    ? { endpoint: row.endpoint, system: row.answer.system, [key]: row.answer[key] } as SystemListing<K, T>
    : { endpoint: row.endpoint, error: row.error } as SystemListing<K, T>));
}
