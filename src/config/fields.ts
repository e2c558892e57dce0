/**
 * Typed reads of one object of a parsed config document, each error naming the field's full path.
 * Unknown keys are errors too, so a typo ("portalGroupTags" spelt "portalGroups") never goes unnoticed.
 */
import { ConfigError } from './errors.ts';

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export class Fields {
  readonly path: string;
  private readonly object: Readonly<Record<string, unknown>>;

  private constructor(path: string, object: Readonly<Record<string, unknown>>) {
    this.path = path;
    this.object = object;
  }

  static of(value: unknown, path: string, allowedKeys: readonly string[]): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError(path, `expected an object, got ${describe(value)}`);
    }
    const fields = new Fields(path, value as Record<string, unknown>);
    for (const key of Object.keys(value)) {
      if (!allowedKeys.includes(key)) {
        throw new ConfigError(fields.at(key), `unknown field (known: ${allowedKeys.join(', ')})`);
      }
    }
    return fields;
  }

  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.object[key] !== undefined && this.object[key] !== null;
  }

  raw(key: string): unknown {
    return this.object[key] ?? undefined;
  }

  fail(key: string, problem: string): never {
    throw new ConfigError(this.at(key), problem);
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'number') return String(value);
    if (typeof value !== 'string') this.fail(key, `expected text, got ${describe(value)}`);
    if (value.trim() === '') this.fail(key, 'must not be empty');
    return value;
  }

  string(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined) this.fail(key, 'is required');
    return value;
  }

  optionalInteger(key: string, min: number, max: number): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number)) this.fail(key, `${describe(value)} is not a whole number`);
    if (number < min || number > max) this.fail(key, `${number} is outside ${min}..${max}`);
    return number;
  }

  integer(key: string, min: number, max: number, fallback: number): number {
    return this.optionalInteger(key, min, max) ?? fallback;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(key, `expected true or false, got ${describe(value)}`);
    return value;
  }

  /** Items of a list with their paths (`targets[2]`); a missing list is empty. */
  list(key: string): Array<{ value: unknown; path: string }> {
    const value = this.raw(key);
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(key, `expected a list, got ${describe(value)}`);
    return value.map((item: unknown, index) => ({ value: item, path: `${this.at(key)}[${index}]` }));
  }
}
