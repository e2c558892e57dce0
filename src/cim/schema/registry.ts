/**
 * The schema: class declarations resolved with inheritance (properties and methods of superclasses
 * flattened in, subclass overrides win), looked up case-insensitively.
 */
import { cimError } from '../errors.ts';
import type { ClassDecl, MethodDecl, PropertyDecl } from './types.ts';

export interface ResolvedClass {
  readonly decl: ClassDecl;
  readonly name: string;
  readonly superClass?: string;
  readonly association: boolean;
  readonly properties: readonly PropertyDecl[];
  readonly methods: readonly MethodDecl[];
  /** Property name (lower case) -> declaration. */
  readonly propertyIndex: ReadonlyMap<string, PropertyDecl>;
  readonly keys: readonly PropertyDecl[];
}

export class SchemaRegistry {
  private readonly decls = new Map<string, ClassDecl>();
  private readonly resolved = new Map<string, ResolvedClass>();

  constructor(decls: readonly ClassDecl[]) {
    for (const d of decls) this.decls.set(d.name.toLowerCase(), d);
    for (const d of decls) if (d.superClass && !this.decls.has(d.superClass.toLowerCase())) throw new Error(`${d.name}: unknown superclass ${d.superClass}`);
  }

  has(name: string): boolean {
    return this.decls.has(name.toLowerCase());
  }

  /** Resolved class or CIM_ERR_INVALID_CLASS. */
  get(name: string): ResolvedClass {
    const found = this.find(name);
    if (!found) throw cimError('INVALID_CLASS', `no class ${name}`);
    return found;
  }

  find(name: string): ResolvedClass | undefined {
    const lower = name.toLowerCase();
    const cached = this.resolved.get(lower);
    if (cached) return cached;
    const decl = this.decls.get(lower);
    if (!decl) return undefined;
    const parent = decl.superClass ? this.find(decl.superClass) : undefined;
    const props = new Map<string, PropertyDecl>();
    for (const p of parent?.properties ?? []) props.set(p.name.toLowerCase(), p);
    for (const p of decl.properties) props.set(p.name.toLowerCase(), { ...props.get(p.name.toLowerCase()), ...p });
    const methods = new Map<string, MethodDecl>();
    for (const m of parent?.methods ?? []) methods.set(m.name.toLowerCase(), m);
    for (const m of decl.methods ?? []) methods.set(m.name.toLowerCase(), m);
    const properties = [...props.values()];
    const r: ResolvedClass = {
      decl,
      name: decl.name,
      superClass: decl.superClass,
      association: decl.association ?? parent?.association ?? false,
      properties,
      methods: [...methods.values()],
      propertyIndex: props,
      keys: properties.filter((p) => p.key),
    };
    this.resolved.set(lower, r);
    return r;
  }

  /** True when `name` is `ancestor` or derives from it. */
  isA(name: string, ancestor: string): boolean {
    const target = ancestor.toLowerCase();
    let cur: ClassDecl | undefined = this.decls.get(name.toLowerCase());
    for (let depth = 0; cur && depth < 32; depth++) {
      if (cur.name.toLowerCase() === target) return true;
      cur = cur.superClass ? this.decls.get(cur.superClass.toLowerCase()) : undefined;
    }
    return false;
  }

  /** Class names directly below `parent` (or the roots), or all below it with deep=true. */
  subclassNames(parent: string | undefined, deep: boolean): string[] {
    const out: string[] = [];
    for (const d of this.decls.values()) {
      if (parent === undefined) {
        if (deep || !d.superClass) out.push(d.name);
      } else if (deep ? d.name.toLowerCase() !== parent.toLowerCase() && this.isA(d.name, parent) : d.superClass?.toLowerCase() === parent.toLowerCase()) {
        out.push(d.name);
      }
    }
    return out.sort();
  }

  method(className: string, methodName: string): MethodDecl | undefined {
    const lower = methodName.toLowerCase();
    return this.get(className).methods.find((m) => m.name.toLowerCase() === lower);
  }
}
