/**
 * iSCSI name checks (RFC 7143 §4.2.7): iqn., eui. and naa. formats, at most 223 bytes. Names are
 * compared after stringprep, which for the ASCII names used here means lower-casing.
 */

const IQN = /^iqn\.\d{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:_-]*)?$/;
const EUI = /^eui\.[0-9a-f]{16}$/;
const NAA = /^naa\.([0-9a-f]{16}|[0-9a-f]{32})$/;
const MAX_NAME_BYTES = 223;

export function normalizeIscsiName(name: string): string {
  return name.trim().toLowerCase();
}

/** Why `name` is not a valid iSCSI name, or undefined when it is (checked after normalizing). */
export function iscsiNameProblem(name: string): string | undefined {
  const normalized = normalizeIscsiName(name);
  if (Buffer.byteLength(normalized) > MAX_NAME_BYTES) return `"${name}" is longer than ${MAX_NAME_BYTES} bytes`;
  if (normalized.startsWith('iqn.')) {
    return IQN.test(normalized)
      ? undefined
      : `"${name}" is not an IQN (iqn.YYYY-MM.reversed.domain[:identifier], e.g. iqn.2026-11.org.example:disk1)`;
  }
  if (normalized.startsWith('eui.')) return EUI.test(normalized) ? undefined : `"${name}" is not an EUI name (eui. + 16 hex digits)`;
  if (normalized.startsWith('naa.')) return NAA.test(normalized) ? undefined : `"${name}" is not an NAA name (naa. + 16 or 32 hex digits)`;
  return `"${name}" is not an iSCSI name (starts with iqn., eui. or naa.)`;
}

/** Turns any text (a host name) into something usable after `iqn.…:`. */
export function sanitizeNameComponent(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return cleaned === '' ? 'localhost' : cleaned;
}
