/**
 * SendTargets (RFC 7143 §13.3 and Appendix C) and the text-request exchange that carries it: the
 * reply is split by the initiator's MaxRecvDataSegmentLength and continued with a Target Transfer
 * Tag (§11.10.4) until the last piece (F=1).
 */
import type { TargetCatalog, TargetEntry } from './catalog.ts';
import { encodeKeys, type KeyValue } from './text-keys.ts';

/** Formats a portal as `addr:port,tpgt`, brackets around IPv6, a wildcard replaced by `local`. */
export function targetAddress(address: string, port: number, tpgt: number, local: string): string {
  let host = address === '0.0.0.0' || address === '::' || address === '' ? local : address;
  if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice(7);
  const shown = host.includes(':') ? `[${host}]` : host;
  return `${shown}:${port},${tpgt}`;
}

function allowed(target: TargetEntry, initiatorName: string): boolean {
  return target.allowedInitiators.length === 0 || target.allowedInitiators.includes(initiatorName);
}

/** RFC 7143 §4.2.7: iqn., eui. and naa. name formats. */
const ISCSI_NAME = /^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$/;

/** RFC 7143 Appendix C: SendTargets=All, =<iSCSI name> or an empty value (the session's target). */
export function isSendTargetsValue(value: string): boolean {
  return value === 'All' || value === '' || ISCSI_NAME.test(value);
}

/**
 * The SendTargets answer: `All` lists every target the initiator may see, an iSCSI name only that
 * target (nothing when unknown or not allowed), the empty value the session's own target. Callers
 * check the value with isSendTargetsValue first.
 */
export function sendTargets(
  catalog: TargetCatalog,
  value: string,
  initiatorName: string,
  sessionTarget: TargetEntry | undefined,
  localAddress: string,
): KeyValue[] {
  let targets: readonly TargetEntry[];
  if (value === 'All') targets = catalog.targets().filter((t) => allowed(t, initiatorName));
  else if (value === '') targets = sessionTarget ? [sessionTarget] : [];
  else {
    const t = catalog.target(value);
    targets = t && allowed(t, initiatorName) ? [t] : [];
  }
  const pairs: KeyValue[] = [];
  for (const target of targets) {
    pairs.push(['TargetName', target.iqn]);
    for (const tpgt of target.portalGroupTags) {
      for (const portal of catalog.portalsOfGroup(tpgt)) {
        pairs.push(['TargetAddress', targetAddress(portal.address, portal.port, tpgt, localAddress)]);
      }
    }
  }
  return pairs;
}

/** A text reply being handed out piece by piece. */
export class TextReply {
  private offset = 0;

  constructor(
    private readonly text: Buffer,
    readonly ttt: number,
  ) {}

  static of(pairs: readonly KeyValue[], ttt: number): TextReply {
    return new TextReply(encodeKeys(pairs), ttt);
  }

  /** The next piece of at most `max` bytes, and whether more follow. */
  next(max: number): { piece: Buffer; more: boolean } {
    const end = Math.min(this.text.length, this.offset + max);
    const piece = this.text.subarray(this.offset, end);
    this.offset = end;
    return { piece, more: end < this.text.length };
  }
}
