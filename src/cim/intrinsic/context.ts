/** What an intrinsic operation handler gets: the model, the schema, its parameters. */
import { cimError } from '../errors.ts';
import type { RawParam, RawValue } from '../cimxml/parse.ts';
import type { WriteContext } from '../cimxml/serialize.ts';
import { buildNamespace, knownNamespace } from '../model/index.ts';
import type { ModelSources } from '../model/sources.ts';
import type { SchemaRegistry } from '../schema/registry.ts';
import { normalizeNamespace, sameKeys, samePath, type CimInstance, type ObjectPath } from '../types.ts';

export class IntrinsicContext {
  private readonly cache = new Map<string, CimInstance[]>();

  constructor(
    readonly sources: ModelSources,
    readonly schema: SchemaRegistry,
    readonly namespace: string,
    readonly write: WriteContext,
    private readonly params: readonly RawParam[],
  ) {}

  instances(namespace = this.namespace): CimInstance[] {
    const ns = knownNamespace(namespace) ?? this.namespace;
    let list = this.cache.get(ns);
    if (!list) {
      list = buildNamespace(this.sources, ns);
      this.cache.set(ns, list);
    }
    return list;
  }

  /** Instances of `className` or its subclasses. */
  instancesOf(className: string): CimInstance[] {
    this.schema.get(className);
    return this.instances().filter((i) => this.schema.isA(i.className, className));
  }

  /** The instance a path names; a superclass name in the path (CIM_ComputerSystem) also matches. */
  find(path: ObjectPath): CimInstance | undefined {
    const ns = path.namespace ? normalizeNamespace(path.namespace) : this.namespace;
    const list = this.instances(ns);
    return list.find((i) => samePath(i.path, path))
      ?? list.find((i) => sameKeys(i.path, path) && this.schema.has(path.className) && this.schema.isA(i.className, path.className));
  }

  param(name: string): RawValue | undefined {
    const lower = name.toLowerCase();
    return this.params.find((p) => p.name.toLowerCase() === lower)?.value;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.param(name);
    if (!v || v.kind === 'null') return fallback;
    if (v.kind !== 'value') throw cimError('INVALID_PARAMETER', `${name} must be a boolean`);
    const t = v.text.trim().toLowerCase();
    if (t !== 'true' && t !== 'false') throw cimError('INVALID_PARAMETER', `${name} must be a boolean`);
    return t === 'true';
  }

  className(name: string, required: boolean): string | undefined {
    const v = this.param(name);
    if (!v || v.kind === 'null') {
      if (required) throw cimError('INVALID_PARAMETER', `missing ${name}`);
      return undefined;
    }
    if (v.kind === 'classname' && v.name) return v.name;
    if (v.kind === 'value' && v.text.trim()) return v.text.trim();
    throw cimError('INVALID_PARAMETER', `${name} must be a CLASSNAME`);
  }

  /** A string parameter such as Role / ResultRole. */
  string(name: string): string | undefined {
    const v = this.param(name);
    if (!v || v.kind === 'null') return undefined;
    if (v.kind !== 'value') throw cimError('INVALID_PARAMETER', `${name} must be a string`);
    return v.text.trim() || undefined;
  }

  instanceName(name: string): ObjectPath {
    const v = this.param(name);
    if (v?.kind === 'instancename' || v?.kind === 'ref') return v.path;
    throw cimError('INVALID_PARAMETER', `${name} must be an INSTANCENAME`);
  }

  /** PropertyList as a lower-case set; undefined = all properties. */
  propertyList(): ReadonlySet<string> | undefined {
    const v = this.param('PropertyList');
    if (!v || v.kind === 'null') return undefined;
    if (v.kind === 'array') return new Set(v.items.map((s) => s.trim().toLowerCase()).filter(Boolean));
    if (v.kind === 'value') return new Set([v.text.trim().toLowerCase()]);
    throw cimError('INVALID_PARAMETER', 'PropertyList must be an array of strings');
  }
}

export type IntrinsicHandler = (ctx: IntrinsicContext) => string | null | Promise<string | null>;
