/** Hand-written CIM-XML requests for tests of the wire layer. */
export async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/cimom`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/xml; charset="utf-8"', CIMOperation: 'MethodCall', ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
    signal: AbortSignal.timeout(120_000),
  });
  return { status: res.status, text: await res.text() };
}

export function nsXml(ns: string): string {
  return `<LOCALNAMESPACEPATH>${ns.split('/').map((n) => `<NAMESPACE NAME="${n}"/>`).join('')}</LOCALNAMESPACEPATH>`;
}

export function imethod(ns: string, name: string, params = '', id = '42'): string {
  return `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="${id}" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="${name}">${nsXml(ns)}${params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`;
}

export function classParam(name: string, className: string): string {
  return `<IPARAMVALUE NAME="${name}"><CLASSNAME NAME="${className}"/></IPARAMVALUE>`;
}

export function instanceNameXml(className: string, keys: Record<string, string>): string {
  return `<INSTANCENAME CLASSNAME="${className}">${Object.entries(keys).map(([k, v]) => `<KEYBINDING NAME="${k}"><KEYVALUE VALUETYPE="string">${v}</KEYVALUE></KEYBINDING>`).join('')}</INSTANCENAME>`;
}

export function errorCode(text: string): number | undefined {
  const m = /<ERROR CODE="(\d+)"/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export const NS = 'root/cimv2/storage/iscsitarget';
export const SERVICE_KEYS = { SystemCreationClassName: 'MSISCSITARGET_ComputerSystem', SystemName: 'sysa', CreationClassName: 'MSISCSITARGET_ReplicationService', Name: 'ReplicationService' };

export function methodCall(method: string, params: string, id = '7'): string {
  return `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="${id}" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="${method}"><LOCALINSTANCEPATH>${nsXml(NS)}${instanceNameXml('MSISCSITARGET_ReplicationService', SERVICE_KEYS)}</LOCALINSTANCEPATH>${params}</METHODCALL></SIMPLEREQ></MESSAGE></CIM>`;
}
