/**
 * Thin accessors over fast-xml-parser's output (every element an array, attributes grouped under
 * '@', text under '#text'), so the CIM-XML decoders read like the DTD.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { cimError } from '../errors.ts';

export interface XmlNode {
  readonly [name: string]: unknown;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  isArray: (_name: string, _jpath: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute && _name !== '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  alwaysCreateTextNode: true,
  processEntities: true,
  htmlEntities: false,
});

/** Parses a document or throws CIM_ERR_FAILED ("request-not-well-formed"). DTDs are refused. */
export function parseXml(text: string): XmlNode {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw cimError('FAILED', 'request-not-well-formed: DTDs are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw cimError('FAILED', `request-not-well-formed: ${valid.err.msg} (line ${valid.err.line})`);
  try {
    return parser.parse(text) as XmlNode;
  } catch (err) {
    throw cimError('FAILED', `request-not-well-formed: ${(err as Error).message}`);
  }
}

export function children(node: XmlNode, name: string): XmlNode[] {
  const v = node[name];
  return Array.isArray(v) ? (v as XmlNode[]) : [];
}

export function child(node: XmlNode, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

export function requireChild(node: XmlNode, name: string, where: string): XmlNode {
  const c = child(node, name);
  if (!c) throw cimError('INVALID_PARAMETER', `${where}: missing <${name}>`);
  return c;
}

export function attr(node: XmlNode, name: string): string | undefined {
  const group = node['@'];
  if (!group || typeof group !== 'object') return undefined;
  const g = group as Record<string, unknown>;
  const v = g[name] ?? g[Object.keys(g).find((k) => k.toLowerCase() === name.toLowerCase()) ?? ''];
  return typeof v === 'string' ? v : undefined;
}

export function text(node: XmlNode): string {
  const t = node['#text'];
  return typeof t === 'string' ? t : '';
}

/** Element names present in `node` (attributes and text excluded). */
export function elementNames(node: XmlNode): string[] {
  return Object.keys(node).filter((k) => k !== '@' && k !== '#text');
}
