/** Shapes shared by the extrinsic method providers. */
import type { OutParam } from '../cimxml/serialize.ts';
import type { ModelSources } from '../model/sources.ts';
import { isObjectPath, type CimValue, type ObjectPath } from '../types.ts';
import type { PortalProber } from './probe.ts';

export interface MethodResult {
  readonly returnValue: number;
  readonly out?: readonly OutParam[];
  /** Why a non-zero code was returned (logged; CIM-XML has no channel for it). */
  readonly reason?: string;
}

export interface ProviderContext {
  readonly sources: ModelSources;
  readonly probe: PortalProber;
}

/** Typed arguments, keyed by lower-case parameter name; absent = NULL. */
export class MethodArgs {
  constructor(private readonly values: ReadonlyMap<string, CimValue>) {}

  has(name: string): boolean {
    const v = this.values.get(name.toLowerCase());
    return v !== undefined && v !== null;
  }

  ref(name: string): ObjectPath | undefined {
    const v = this.values.get(name.toLowerCase());
    return v !== null && v !== undefined && isObjectPath(v) ? v : undefined;
  }

  /** NULL -> undefined, otherwise the list (possibly empty). */
  refs(name: string): ObjectPath[] | undefined {
    const v = this.values.get(name.toLowerCase());
    if (v === null || v === undefined) return undefined;
    return Array.isArray(v) ? (v as readonly unknown[]).filter(isObjectPath) : isObjectPath(v) ? [v] : [];
  }

  bool(name: string): boolean | undefined {
    const v = this.values.get(name.toLowerCase());
    return typeof v === 'boolean' ? v : undefined;
  }

  string(name: string): string | undefined {
    const v = this.values.get(name.toLowerCase());
    return typeof v === 'string' ? v : undefined;
  }

  number(name: string): number | undefined {
    const v = this.values.get(name.toLowerCase());
    return typeof v === 'number' ? v : undefined;
  }
}

export type ExtrinsicMethod = (ctx: ProviderContext, args: MethodArgs, target: ObjectPath) => Promise<MethodResult>;

export const Ret = { OK: 0, NotSupported: 1, Failed: 4, InvalidParameter: 5, InUse: 6, JobStarted: 4096 } as const;

export function invalid(reason: string): MethodResult {
  return { returnValue: Ret.InvalidParameter, reason };
}
