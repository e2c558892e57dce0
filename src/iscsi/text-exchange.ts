/**
 * Text Request / Text Response in the full feature phase (RFC 7143 §11.10, §11.11): the initiator's
 * text may arrive in pieces (C=1, each answered by an empty response carrying a TTT), and our answer
 * goes out in pieces of the initiator's MaxRecvDataSegmentLength (C=1 with a TTT until the last).
 */
import type { TargetCatalog } from './catalog.ts';
import { RESERVED_TAG } from './constants.ts';
import type { PduSender } from './data-in.ts';
import { sendTargets, TextReply } from './discovery.ts';
import { continueBit, type Pdu } from './pdu.ts';
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
    const itt = bhs.readUInt32BE(16);
    const ttt = bhs.readUInt32BE(20);
    const lun = Buffer.from(bhs.subarray(8, 16));
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
      this.reply = TextReply.of(this.answer(text), this.newTag());
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

  private answer(text: Buffer): KeyValue[] {
    const answers: KeyValue[] = [];
    for (const [key, value] of parseKeys(text).pairs) {
      if (key === 'SendTargets') {
        answers.push(...sendTargets(this.catalog, value, this.session.initiatorName, this.session.target, this.localAddress()));
      } else {
        answers.push([key, 'NotUnderstood']);
      }
    }
    return answers;
  }
}
