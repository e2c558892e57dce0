/**
 * Class declarations as data. A type string is a CIM intrinsic type (`string`, `uint16`, ...),
 * optionally suffixed `[]` for arrays, or `ref:<ClassName>` / `ref:<ClassName>[]` for references.
 */
export type CimIntrinsicType =
  | 'string' | 'boolean' | 'datetime' | 'char16'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'sint8' | 'sint16' | 'sint32' | 'sint64'
  | 'real32' | 'real64';

export interface TypeInfo {
  readonly base: CimIntrinsicType | 'reference';
  readonly array: boolean;
  readonly refClass?: string;
}

export interface PropertyDecl {
  readonly name: string;
  readonly type: string;
  readonly key?: boolean;
  /** ModifyInstance may change it. */
  readonly writable?: boolean;
  readonly valueMap?: readonly string[];
  readonly values?: readonly string[];
  readonly description?: string;
}

export interface ParameterDecl {
  readonly name: string;
  readonly type: string;
  readonly in?: boolean;
  readonly out?: boolean;
  readonly required?: boolean;
  readonly embeddedInstance?: string;
}

export interface MethodDecl {
  readonly name: string;
  readonly returnType?: CimIntrinsicType;
  readonly parameters: readonly ParameterDecl[];
  readonly valueMap?: readonly string[];
  readonly values?: readonly string[];
}

export interface ClassDecl {
  readonly name: string;
  readonly superClass?: string;
  readonly association?: boolean;
  readonly abstract?: boolean;
  readonly description?: string;
  readonly properties: readonly PropertyDecl[];
  readonly methods?: readonly MethodDecl[];
}

const INTRINSICS = new Set(['string', 'boolean', 'datetime', 'char16', 'uint8', 'uint16', 'uint32', 'uint64', 'sint8', 'sint16', 'sint32', 'sint64', 'real32', 'real64']);

export function parseType(type: string): TypeInfo {
  const array = type.endsWith('[]');
  const bare = array ? type.slice(0, -2) : type;
  if (bare.startsWith('ref:')) return { base: 'reference', array, refClass: bare.slice(4) };
  if (!INTRINSICS.has(bare)) throw new Error(`unknown CIM type ${type}`);
  return { base: bare as CimIntrinsicType, array };
}
