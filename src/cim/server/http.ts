/**
 * CIM-XML over HTTP or HTTPS (DSP0200 §6): POST /cimom with CIMOperation: MethodCall. CIM errors travel
 * as HTTP 200 + <ERROR> (wbemcli treats HTTP >= 300 as a transport failure); only authentication (401)
 * and non-CIM requests (405/400 with a CIMError header) get HTTP error codes.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import { errorResponse } from '../cimxml/serialize.ts';
import { sniffMessageId } from '../cimxml/parse.ts';
import { CimStatus } from '../errors.ts';
import { logger } from '../../util/log.ts';
import type { CimDispatcher } from './dispatch.ts';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Past this much we stop draining and drop the connection. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

export interface HttpOptions {
  readonly user?: string;
  readonly password?: string;
  readonly maxBodyBytes?: number;
  /** PEM certificate and key: serve HTTPS. Absent: plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Basic auth without TLS sends the password in clear text: refused unless this is set. */
  readonly allowBasicAuthOverHttp?: boolean;
}

function authorized(req: IncomingMessage, opts: HttpOptions): boolean {
  if (opts.user === undefined) return true;
  const h = req.headers.authorization ?? '';
  const m = /^Basic\s+(.+)$/i.exec(h);
  if (!m) return false;
  const given = Buffer.from(Buffer.from(m[1], 'base64').toString('utf8'));
  const expected = Buffer.from(`${opts.user}:${opts.password ?? ''}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function send(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/xml; charset="utf-8"', CIMOperation: 'MethodResponse', 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function createCimHttpServer(dispatcher: CimDispatcher, opts: HttpOptions): Server {
  if (opts.user !== undefined && opts.tls === undefined && opts.allowBasicAuthOverHttp !== true) {
    throw new Error('CIM basic auth over plain HTTP would send the password in clear text: serve HTTPS or allow it explicitly (cim.allowBasicAuthOverHttp)');
  }
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const log = () => logger.child({ component: 'cim' });
  const handler: RequestListener = (req, res) => {
    if (!authorized(req, opts)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="iscsi-sim"', 'Content-Length': 0 });
      res.end();
      req.resume();
      return;
    }
    if (req.method !== 'POST' && req.method !== 'M-POST') {
      res.writeHead(405, { Allow: 'POST', 'Content-Length': 0 });
      res.end();
      req.resume();
      return;
    }
    const operation = header(req, 'CIMOperation') ?? header(req, '73-CIMOperation');
    if (operation && operation.toLowerCase() !== 'methodcall') {
      res.writeHead(400, { CIMError: 'unsupported-operation', 'Content-Length': 0 });
      res.end();
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > MAX_DRAIN_BYTES) req.destroy();
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const method = header(req, 'CIMMethod') ?? 'unknown';
      if (size > limit) {
        send(res, 200, errorResponse(sniffMessageId(body), method, true, CimStatus.FAILED, `request body of ${size} bytes exceeds the limit of ${limit}`));
        return;
      }
      dispatcher.handle(body, { cimMethod: header(req, 'CIMMethod'), cimObject: header(req, 'CIMObject'), userAgent: header(req, 'User-Agent') }, header(req, 'Host') ?? 'localhost')
        .then((out) => send(res, 200, out))
        .catch((err: unknown) => {
          log().error({ err }, 'CIM dispatcher failed');
          send(res, 200, errorResponse(sniffMessageId(body), method, true, CimStatus.FAILED, 'internal error'));
        });
    });
  };
  const server: Server = opts.tls === undefined ? createServer(handler) : createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler);
  server.requestTimeout = 60_000;
  server.headersTimeout = 15_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}
