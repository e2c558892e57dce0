/**
 * One CIM-XML request body in, one response body out. Every failure becomes an `<ERROR>` answer
 * (CIM_ERR_FAILED for anything unexpected), so the HTTP layer always answers 200.
 */
import { coerce } from '../cimxml/coerce.ts';
import { parseRequest, sniffMessageId, type CimRequest, type ExtrinsicCall } from '../cimxml/parse.ts';
import { errorResponse, extrinsicResponse, intrinsicResponse, type WriteContext } from '../cimxml/serialize.ts';
import { CimError, cimError, CimStatus } from '../errors.ts';
import { IntrinsicContext } from '../intrinsic/context.ts';
import { intrinsicOperations } from '../intrinsic/index.ts';
import { buildNamespace, knownNamespace } from '../model/index.ts';
import type { ModelSources } from '../model/sources.ts';
import { extrinsicMethods } from '../providers/index.ts';
import { MethodArgs, type ExtrinsicMethod, type ProviderContext } from '../providers/method-types.ts';
import type { PortalProber } from '../providers/probe.ts';
import { schema } from '../schema/index.ts';
import { isSblimWbemcli } from './client-dialect.ts';
import { parseType } from '../schema/types.ts';
import { normalizeNamespace, samePath, type CimValue } from '../types.ts';
import { logger } from '../../util/log.ts';

export interface RequestHeaders {
  readonly cimMethod?: string;
  readonly cimObject?: string;
  readonly userAgent?: string;
}

function decodeHeader(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    return decodeURIComponent(v.replace(/\+/g, ' ')).trim();
  } catch {
    return v.trim();
  }
}

export class CimDispatcher {
  private readonly providerCtx: ProviderContext;

  constructor(private readonly sources: ModelSources, probe: PortalProber) {
    this.providerCtx = { sources, probe };
  }

  async handle(body: string, headers: RequestHeaders, host: string): Promise<string> {
    let req: CimRequest | undefined;
    try {
      req = parseRequest(body);
      this.checkHeaders(req, headers);
      const namespace = knownNamespace(req.namespace);
      if (!namespace) throw cimError('INVALID_NAMESPACE', `no namespace ${req.namespace}`);
      const wbemcli = isSblimWbemcli({ messageId: req.messageId, ...(headers.userAgent === undefined ? {} : { userAgent: headers.userAgent }) });
      const write: WriteContext = { host, defaultNamespace: namespace, ...(wbemcli ? { refArraysAsValueArray: true } : {}) };
      if (req.kind === 'intrinsic') {
        const handler = intrinsicOperations.get(req.method.toLowerCase());
        if (!handler) throw cimError('NOT_SUPPORTED', `${req.method} is not supported`);
        const content = await handler(new IntrinsicContext(this.sources, schema(), namespace, write, req.params));
        return intrinsicResponse(req.messageId, req.method, content);
      }
      return await this.extrinsic(req, namespace, write);
    } catch (err) {
      const method = req?.method ?? decodeHeader(headers.cimMethod) ?? 'unknown';
      const intrinsic = req ? req.kind === 'intrinsic' : !/^[A-Z]/.test(decodeHeader(headers.cimObject)?.split(':')[1] ?? '');
      const messageId = req?.messageId ?? sniffMessageId(body);
      if (err instanceof CimError) return errorResponse(messageId, method, intrinsic, err.code, err.description);
      logger.child({ component: 'cim' }).error({ err, method }, 'CIM request failed unexpectedly');
      return errorResponse(messageId, method, intrinsic, CimStatus.FAILED, 'internal error');
    }
  }

  private checkHeaders(req: CimRequest, headers: RequestHeaders): void {
    const method = decodeHeader(headers.cimMethod);
    if (method !== undefined && method.toLowerCase() !== req.method.toLowerCase()) {
      throw cimError('INVALID_PARAMETER', `header-mismatch: CIMMethod ${method} but the body calls ${req.method}`);
    }
    const object = decodeHeader(headers.cimObject);
    if (object === undefined) return;
    const ns = req.kind === 'intrinsic' ? object : object.split(':')[0];
    if (normalizeNamespace(ns) !== normalizeNamespace(req.namespace)) {
      throw cimError('INVALID_PARAMETER', `header-mismatch: CIMObject ${object} does not name namespace ${req.namespace}`);
    }
    if (req.kind === 'extrinsic') {
      const cls = object.split(':')[1]?.split('.')[0];
      if (cls && cls.toLowerCase() !== req.target.className.toLowerCase()) throw cimError('INVALID_PARAMETER', `header-mismatch: CIMObject ${object} does not name class ${req.target.className}`);
    }
  }

  private async extrinsic(req: ExtrinsicCall, namespace: string, write: WriteContext): Promise<string> {
    const reg = schema();
    const cls = reg.get(req.target.className);
    const decl = reg.method(cls.name, req.method);
    if (!decl) throw cimError('METHOD_NOT_FOUND', `${cls.name} has no method ${req.method}`);
    const impl = this.findImpl(cls.name, req.method);
    if (!impl) throw cimError('METHOD_NOT_AVAILABLE', `${req.method} is not implemented`);
    if (req.isClassTarget) {
      if (!reg.isA(cls.name, 'CIM_ReplicationService')) throw cimError('INVALID_PARAMETER', `${req.method} must be invoked on an instance`);
    } else {
      const found = buildNamespace(this.sources, namespace).find((i) => samePath(i.path, req.target));
      if (!found) throw cimError('NOT_FOUND', `no instance ${req.target.className}`);
    }
    const values = new Map<string, CimValue>();
    for (const p of req.params) {
      const pd = decl.parameters.find((d) => d.name.toLowerCase() === p.name.toLowerCase());
      if (!pd || !pd.in) throw cimError('INVALID_PARAMETER', `${req.method} has no input parameter ${p.name}`);
      const t = parseType(pd.type);
      if (p.paramType && p.paramType.toLowerCase() !== t.base) throw cimError('INVALID_PARAMETER', `${p.name}: PARAMTYPE ${p.paramType} but ${t.base} declared`);
      values.set(pd.name.toLowerCase(), coerce(p.value, t, p.name));
    }
    const target = req.isClassTarget ? req.target : { ...req.target, namespace };
    const result = await impl(this.providerCtx, new MethodArgs(values), target);
    if (result.returnValue !== 0 && result.returnValue !== 4096) {
      logger.child({ component: 'cim' }).info({ method: req.method, returnValue: result.returnValue, reason: result.reason }, 'CIM method refused');
    }
    // A refusal says why (vendor out parameter ErrorDescription), not just "5 (Invalid Parameter)".
    const refusal = result.returnValue !== 0 && result.returnValue !== 4096 && result.reason && !(result.out ?? []).some((o) => o.name === 'ErrorDescription')
      ? [{ name: 'ErrorDescription', type: 'string', value: result.reason }] : [];
    const out = [...(result.out ?? []), ...refusal].map((o) => {
      const pd = decl.parameters.find((d) => d.name.toLowerCase() === o.name.toLowerCase());
      return { ...o, type: pd?.type ?? o.type };
    });
    return extrinsicResponse(req.messageId, req.method, result.returnValue, out, write);
  }

  private findImpl(className: string, method: string): ExtrinsicMethod | undefined {
    for (const [declaring, methods] of extrinsicMethods) {
      if (schema().isA(className, declaring)) return methods.get(method.toLowerCase());
    }
    return undefined;
  }
}
