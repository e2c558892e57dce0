/**
 * Which CIM-XML client sent a request, where a client cannot read what DSP0201 says to write.
 * sblim wbemcli (1.6.x) parses an out parameter only as VALUE, VALUE.ARRAY or VALUE.REFERENCE:
 * VALUE.REFARRAY fails with "Parse Exception: Bad attribute list for VALUE" (GetReplicationRelationships),
 * while a VALUE.ARRAY of VALUE.REFERENCE it reads and prints. It is recognised by its fixed request
 * header (`<MESSAGE ID="4711"`, Cimom::xmlHeader in its CimXml.cpp) and no User-Agent; every other client
 * (pywbem, this project's client: both send a User-Agent) gets VALUE.REFARRAY.
 */
export interface ClientHints {
  readonly messageId: string;
  readonly userAgent?: string;
}

const WBEMCLI_MESSAGE_ID = '4711';

export function isSblimWbemcli(hints: ClientHints): boolean {
  return hints.messageId === WBEMCLI_MESSAGE_ID && (hints.userAgent === undefined || hints.userAgent === '');
}
