/**
 * Text Request / Text Response in the full feature phase (RFC 7143 §11.10, §11.11): the initiator's
 * text may arrive in pieces (C=1, each answered by an empty response carrying a TTT), and our answer
 * goes out in pieces of the initiator's MaxRecvDataSegmentLength (C=1 with a TTT until the last).
 */
import type { TargetCatalog } from './catalog.ts';
import { RESERVED_TAG } from './constants.ts';
import type { PduSender } from './data-in.ts';
import { isSendTargetsValue, sendTargets, TextReply } from './discovery.ts';
import { continueBit, ittOf, lunField, tttOf, type Pdu } from './pdu.ts';
import { textResponse } from './serializer.ts';
import type { Session } from './session.ts';
import { parseKeys, type KeyValue } from './text-keys.ts';

const MAX_REQUEST_TEXT = 65536;

export class TextExchange {
  private reply: TextReply | undefined;
  private requestParts: Buffer[] = [];
  private requestLength = 0;
  private requestTtt = RESERVED_TAG;

  constructor(
    private readonly sender: PduSender,
    private readonly session: Session,
    private readonly catalog: TargetCatalog,
    private readonly localAddress: () => string,
    private readonly newTag: () => number,
  ) {}

  /** Handles one Text Request; returns an error message when the PDU must be rejected. */
  handle(pdu: Pdu): string | undefined {
    const bhs = pdu.bhs;
    const itt = ittOf(bhs);
    const ttt = tttOf(bhs);
    const lun = Buffer.from(lunField(bhs));
    const continuingRequest = ttt !== RESERVED_TAG && ttt === this.requestTtt;
    if (ttt !== RESERVED_TAG && !continuingRequest) {
      if (!this.reply || this.reply.ttt !== ttt) return 'unknown text TTT';
    } else {
      if (!continuingRequest) this.resetRequest();
      this.requestLength += pdu.data.length;
      if (this.requestLength > MAX_REQUEST_TEXT) {
        this.resetRequest();
        return 'text request too long';
      }
      this.requestParts.push(Buffer.from(pdu.data));
      if (continueBit(bhs)) {
        // More request text follows: acknowledge with an empty response and a TTT to continue on.
        this.requestTtt = this.newTag();
        const tag = this.requestTtt;
        this.sender.send((seq) => textResponse({ final: false, continues: false, lun, itt, ttt: tag, text: Buffer.alloc(0) }, seq), true);
        return undefined;
      }
      const text = Buffer.concat(this.requestParts);
      this.resetRequest();
      const answer = this.answer(text);
      if (typeof answer === 'string') return answer;
      this.reply = TextReply.of(answer, this.newTag());
    }
    const reply = this.reply as TextReply;
    const { piece, more } = reply.next(this.session.params.initiatorMaxRecvDataSegmentLength);
    if (!more) this.reply = undefined;
    // RFC 7143 §11.11: C=1/F=0 with a TTT while more follows; the last piece has F=1 and no TTT.
    this.sender.send((seq) => textResponse({ final: !more, continues: more, lun, itt, ttt: more ? reply.ttt : RESERVED_TAG, text: piece }, seq), true);
    return undefined;
  }

  private resetRequest(): void {
    this.requestParts = [];
    this.requestLength = 0;
    this.requestTtt = RESERVED_TAG;
  }

  /**
   * The reply to a complete request, or why the request is rejected. SendTargets is the only text
   * request this target serves after login, so a request without a well-formed SendTargets key (a
   * wrong key, a wrong case — keys are case-sensitive, RFC 7143 §6.1 — or a value that is neither
   * All, empty nor an iSCSI name) is a protocol error answered with a Reject PDU (§11.17.1, reason
   * 0x04), as LIO does. A Text Response carrying NotUnderstood or Reject is no answer an initiator
   * can use here: libiscsi takes any key but TargetName/TargetAddress in a SendTargets reply as a
   * broken connection and reconnects (lib/discovery.c iscsi_process_text_reply), and its
   * iSCSISendTargets.Invalid then waits forever. Other keys next to a valid SendTargets are
   * answered NotUnderstood (§6.2).
   */
  private answer(text: Buffer): KeyValue[] | string {
    const { pairs, invalid } = parseKeys(text);
    if (invalid.length > 0) return `text request: malformed key=value "${invalid[0]}"`;
    const requests = pairs.filter(([key]) => key === 'SendTargets');
    if (requests.length !== 1) {
      return requests.length === 0
        ? `text request without SendTargets (keys: ${pairs.map(([key]) => key).join(', ') || 'none'})`
        : 'text request with more than one SendTargets key';
    }
    const value = requests[0][1];
    if (!isSendTargetsValue(value)) return `SendTargets=${value}: neither All, empty nor an iSCSI name`;
    const answers: KeyValue[] = [];
    for (const [key] of pairs) {
      if (key === 'SendTargets') {
        answers.push(...sendTargets(this.catalog, value, this.session.initiatorName, this.session.target, this.localAddress()));
      } else {
        answers.push([key, 'NotUnderstood']);
      }
    }
    return answers;
  }
}
