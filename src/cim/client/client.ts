/**
 * A small CIM-XML client (DSP0200 over HTTP or HTTPS): what this project needs to ask a peer's CIM
 * server about its system and endpoints, and what the CLI uses to call methods. Every request is
 * bounded by a timeout.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { cimError, CimError, CimStatus, type CimStatusCode } from '../errors.ts';
import { decodeInstance, decodeInstanceName, decodeReference, decodeValueElement, type RawInstance, type RawValue } from '../cimxml/parse.ts';
import { escapeXml, instanceName, localNamespacePath, value, type WriteContext } from '../cimxml/serialize.ts';
import { attr, child, children, parseXml, requireChild, text, type XmlNode } from '../cimxml/xml-node.ts';
import { isObjectPath, type KeyScalar, type ObjectPath } from '../types.ts';

export interface CimClientOptions {
  readonly url: string;
  readonly user?: string;
  readonly password?: string;
  readonly timeoutMs?: number;
  /** https: PEM file of the CA (or the server's self-signed certificate) to trust, read at each request. */
  readonly caFile?: string;
  /** https: accept any certificate (self-signed lab servers; `wbemcli -noverify`). */
  readonly insecure?: boolean;
}

export interface NamedInstance {
  readonly path: ObjectPath;
  readonly instance: RawInstance;
}

export type ArgValue = KeyScalar | ObjectPath | readonly KeyScalar[] | readonly ObjectPath[];

export interface MethodResult {
  readonly returnValue: number;
  readonly out: Readonly<Record<string, RawValue>>;
}

let messageCounter = 1;

export class CimClient {
  private readonly endpoint: string;
  private readonly host: string;
  private readonly auth: string | undefined;
  private readonly timeoutMs: number;
  private readonly caFile: string | undefined;
  private readonly insecure: boolean;

  constructor(opts: CimClientOptions) {
    const u = new URL(opts.url);
    const user = opts.user ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = opts.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    this.auth = user !== undefined ? `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}` : undefined;
    this.host = u.hostname;
    this.endpoint = `${u.protocol}//${u.host}/cimom`;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.caFile = opts.caFile;
    this.insecure = opts.insecure ?? false;
  }

  async enumerateInstances(namespace: string, className: string): Promise<NamedInstance[]> {
    const ret = await this.intrinsic(namespace, 'EnumerateInstances', `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="${escapeXml(className)}"/></IPARAMVALUE>`);
    return children(ret ?? {}, 'VALUE.NAMEDINSTANCE').map((n) => ({
      path: { ...decodeInstanceName(requireChild(n, 'INSTANCENAME', 'VALUE.NAMEDINSTANCE')), namespace },
      instance: decodeInstance(requireChild(n, 'INSTANCE', 'VALUE.NAMEDINSTANCE')),
    }));
  }

  async enumerateInstanceNames(namespace: string, className: string): Promise<ObjectPath[]> {
    const ret = await this.intrinsic(namespace, 'EnumerateInstanceNames', `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="${escapeXml(className)}"/></IPARAMVALUE>`);
    return children(ret ?? {}, 'INSTANCENAME').map((n) => ({ ...decodeInstanceName(n), namespace }));
  }

  async getInstance(path: ObjectPath): Promise<RawInstance> {
    const ns = path.namespace ?? 'root/cimv2';
    const ret = await this.intrinsic(ns, 'GetInstance', `<IPARAMVALUE NAME="InstanceName">${instanceName(path, this.ctx(ns))}</IPARAMVALUE>`);
    return decodeInstance(requireChild(ret ?? {}, 'INSTANCE', 'IRETURNVALUE'));
  }

  /** AssociatorNames (DSP0200 §5.3.2.15): the paths of the instances associated with `path`. */
  async associatorNames(path: ObjectPath, assocClass?: string, resultClass?: string): Promise<ObjectPath[]> {
    const ns = path.namespace ?? 'root/cimv2';
    let params = `<IPARAMVALUE NAME="ObjectName">${instanceName(path, this.ctx(ns))}</IPARAMVALUE>`;
    if (assocClass !== undefined) params += `<IPARAMVALUE NAME="AssocClass"><CLASSNAME NAME="${escapeXml(assocClass)}"/></IPARAMVALUE>`;
    if (resultClass !== undefined) params += `<IPARAMVALUE NAME="ResultClass"><CLASSNAME NAME="${escapeXml(resultClass)}"/></IPARAMVALUE>`;
    const ret = await this.intrinsic(ns, 'AssociatorNames', params);
    return children(ret ?? {}, 'OBJECTPATH').flatMap((node) => {
      const found = decodeReference(node);
      return found === undefined ? [] : [{ ...found, namespace: found.namespace ?? ns }];
    });
  }

  async invokeMethod(target: ObjectPath, method: string, args: Readonly<Record<string, ArgValue | null | undefined>>): Promise<MethodResult> {
    const ns = target.namespace ?? 'root/cimv2';
    const ctx = this.ctx(ns);
    const targetXml = Object.keys(target.keys).length
      ? `<LOCALINSTANCEPATH>${localNamespacePath(ns)}${instanceName(target, ctx)}</LOCALINSTANCEPATH>`
      : `<LOCALCLASSPATH>${localNamespacePath(ns)}<CLASSNAME NAME="${escapeXml(target.className)}"/></LOCALCLASSPATH>`;
    let params = '';
    for (const [name, v] of Object.entries(args)) {
      if (v === null || v === undefined) continue;
      params += `<PARAMVALUE NAME="${escapeXml(name)}">${argXml(v, ctx)}</PARAMVALUE>`;
    }
    const body = wrap(`<METHODCALL NAME="${escapeXml(method)}">${targetXml}${params}</METHODCALL>`);
    const objectHeader = `${ns}:${target.className}`;
    const rsp = await this.post(body, method, objectHeader);
    const mr = requireChild(rsp, 'METHODRESPONSE', 'SIMPLERSP');
    throwIfError(mr);
    const rv = requireChild(mr, 'RETURNVALUE', 'METHODRESPONSE');
    const out: Record<string, RawValue> = {};
    for (const p of children(mr, 'PARAMVALUE')) out[attr(p, 'NAME') ?? ''] = decodeValueElement(p);
    return { returnValue: Number(text(requireChild(rv, 'VALUE', 'RETURNVALUE')).trim()), out };
  }

  private ctx(ns: string): WriteContext {
    return { host: this.host, defaultNamespace: ns };
  }

  private async intrinsic(namespace: string, method: string, params: string): Promise<XmlNode | undefined> {
    const body = wrap(`<IMETHODCALL NAME="${method}">${localNamespacePath(namespace)}${params}</IMETHODCALL>`);
    const rsp = await this.post(body, method, namespace);
    const ir = requireChild(rsp, 'IMETHODRESPONSE', 'SIMPLERSP');
    throwIfError(ir);
    return child(ir, 'IRETURNVALUE');
  }

  private async post(body: string, method: string, object: string): Promise<XmlNode> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/xml; charset="utf-8"',
      CIMOperation: 'MethodCall', CIMMethod: method, CIMObject: encodeURIComponent(object).replace(/%2F/g, '/').replace(/%3A/g, ':'),
    };
    if (this.auth) headers.Authorization = this.auth;
    let res: { status: number; body: string };
    try {
      res = await this.send(body, headers);
    } catch (err) {
      throw cimError('FAILED', `cannot reach ${this.endpoint}: ${describeTransportError(err, this.timeoutMs)}`);
    }
    if (res.status !== 200) throw cimError('FAILED', `${this.endpoint} answered HTTP ${res.status}`);
    const doc = parseXml(res.body);
    return requireChild(requireChild(requireChild(doc, 'CIM', 'response'), 'MESSAGE', 'CIM'), 'SIMPLERSP', 'MESSAGE');
  }

  private async send(body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const secure = this.endpoint.startsWith('https:');
    const tls = secure ? { rejectUnauthorized: !this.insecure, ...(this.caFile === undefined ? {} : { ca: await readCa(this.caFile) }) } : {};
    return new Promise((resolve, reject) => {
      const options = { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, signal: AbortSignal.timeout(this.timeoutMs), ...tls };
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      };
      const req = secure ? httpsRequest(this.endpoint, options, onResponse) : httpRequest(this.endpoint, options, onResponse);
      req.on('error', reject);
      req.end(body);
    });
  }
}

async function readCa(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`cannot read the CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const CERTIFICATE_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']);

function describeTransportError(err: unknown, timeoutMs: number): string {
  const e = err as NodeJS.ErrnoException;
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.code !== undefined && CERTIFICATE_CODES.has(e.code)) return `${e.message} (${e.code}): trust the server's certificate (a CA file) or skip verification (insecure)`;
  return e.code !== undefined && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
}

function wrap(inner: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="${messageCounter++}" PROTOCOLVERSION="1.0"><SIMPLEREQ>${inner}</SIMPLEREQ></MESSAGE></CIM>`;
}

function throwIfError(node: XmlNode): void {
  const err = child(node, 'ERROR');
  if (!err) return;
  const code = Number(attr(err, 'CODE') ?? CimStatus.FAILED);
  const known = (Object.values(CimStatus) as number[]).includes(code) ? (code as CimStatusCode) : CimStatus.FAILED;
  // Servers that put the code's name into DESCRIPTION too would otherwise print it twice.
  const description = (attr(err, 'DESCRIPTION') ?? 'remote CIM error').replace(/^CIM_ERR_[A-Z_]+: /, '');
  throw new CimError(known, description);
}

function refXml(p: ObjectPath, ctx: WriteContext): string {
  const ns = p.namespace ?? ctx.defaultNamespace;
  return `<VALUE.REFERENCE><LOCALINSTANCEPATH>${localNamespacePath(ns)}${instanceName(p, ctx)}</LOCALINSTANCEPATH></VALUE.REFERENCE>`;
}

function argXml(v: ArgValue, ctx: WriteContext): string {
  if (Array.isArray(v)) {
    const items = v as readonly (KeyScalar | ObjectPath)[];
    if (items.length > 0 && isObjectPath(items[0])) return `<VALUE.REFARRAY>${(items as ObjectPath[]).map((p) => refXml(p, ctx)).join('')}</VALUE.REFARRAY>`;
    return `<VALUE.ARRAY>${(items as KeyScalar[]).map(value).join('')}</VALUE.ARRAY>`;
  }
  if (isObjectPath(v)) return refXml(v, ctx);
  return value(v as KeyScalar);
}

/** Reads a property of a decoded instance as a scalar string (undefined when NULL or absent). */
export function rawString(inst: RawInstance, name: string): string | undefined {
  const p = inst.properties.find((x) => x.name.toLowerCase() === name.toLowerCase());
  return p && p.value.kind === 'value' ? p.value.text : undefined;
}

export function rawStrings(inst: RawInstance, name: string): string[] {
  const p = inst.properties.find((x) => x.name.toLowerCase() === name.toLowerCase());
  return p && p.value.kind === 'array' ? [...p.value.items] : [];
}

export { decodeReference };
