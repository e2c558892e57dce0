/**
 * CIM status codes (DSP0200 §5.3.4 / DSP0201 ERROR) and the one builder for them. Handlers throw a
 * CimError; the server turns it into `<ERROR CODE=..>` inside an HTTP 200 answer.
 */
export const CimStatus = {
  FAILED: 1,
  ACCESS_DENIED: 2,
  INVALID_NAMESPACE: 3,
  INVALID_PARAMETER: 4,
  INVALID_CLASS: 5,
  NOT_FOUND: 6,
  NOT_SUPPORTED: 7,
  CLASS_HAS_CHILDREN: 8,
  CLASS_HAS_INSTANCES: 9,
  INVALID_SUPERCLASS: 10,
  ALREADY_EXISTS: 11,
  NO_SUCH_PROPERTY: 12,
  TYPE_MISMATCH: 13,
  QUERY_LANGUAGE_NOT_SUPPORTED: 14,
  INVALID_QUERY: 15,
  METHOD_NOT_AVAILABLE: 16,
  METHOD_NOT_FOUND: 17,
} as const;

export type CimStatusCode = (typeof CimStatus)[keyof typeof CimStatus];

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(CimStatus).map(([k, v]) => [v, `CIM_ERR_${k}`]));

/**
 * `message` is `CIM_ERR_<NAME>: description` for logs and the CLI; the wire's DESCRIPTION carries
 * only `description` (clients such as wbemcli print the code's name themselves).
 */
export class CimError extends Error {
  readonly code: CimStatusCode;
  readonly description: string;
  constructor(code: CimStatusCode, description: string) {
    super(`${cimStatusName(code)}: ${description}`);
    this.code = code;
    this.description = description;
    this.name = 'CimError';
  }
}

export function cimStatusName(code: number): string {
  return NAMES[code] ?? String(code);
}

/** The single builder: `throw cimError('NOT_FOUND', 'no such instance')`. */
export function cimError(code: keyof typeof CimStatus, description: string): CimError {
  return new CimError(CimStatus[code], description);
}
