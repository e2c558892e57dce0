/**
 * The login phase of one connection (RFC 7143 §6, §11.12): security stage with optional CHAP,
 * operational stage with key negotiation, PDU cap, and one status for every failure. The caller (the
 * connection) sends the responses and, on 'done', registers the session.
 */
import { LoginStage, LoginStatus, InitiatorOpcode } from './constants.ts';
import type { ChapCredentials, PortalAddress, TargetCatalog, TargetEntry } from './catalog.ts';
import { newChallenge, pickAlgorithm, decodeBinary, encodeHex, verifyResponse, chapResponse, type ChapChallenge } from './chap.ts';
import { defaultParameters, negotiate, TARGET_LIMITS, type SessionParameters } from './negotiation.ts';
import { cidOf, cmdSNOf, continueBit, currentStageOf, finalBit, isidOf, ittOf, nextStageOf, opcodeOf, statusOf, tsihOf, type Pdu } from './pdu.ts';
import type { LoginResponseFields } from './serializer.ts';
import { encodeKeys, parseKeys, type KeyValue } from './text-keys.ts';

const MAX_LOGIN_PDUS = 32;
const MAX_LOGIN_TEXT = 65536;

export type SessionType = 'Normal' | 'Discovery';

export interface LoginResult {
  readonly sessionType: SessionType;
  readonly initiatorName: string;
  readonly initiatorAlias: string | undefined;
  readonly target: TargetEntry | undefined;
  readonly isid: Buffer;
  readonly cid: number;
  /** CmdSN of the login request: the session's first ExpCmdSN. */
  readonly cmdSN: number;
  readonly params: SessionParameters;
}

/** What the connection sends back: exactly the serializer's Login Response fields. */
export type LoginReply = LoginResponseFields;

export type LoginStep =
  | { readonly outcome: 'more'; readonly reply: LoginReply }
  | { readonly outcome: 'done'; readonly reply: LoginReply; readonly result: LoginResult }
  | { readonly outcome: 'failed'; readonly reply: LoginReply; readonly reason: string };

type AuthState = 'unset' | 'none' | 'chap-a' | 'chap-r' | 'done';

export class LoginNegotiation {
  private pdus = 0;
  private isid: Buffer | undefined;
  private tsih = 0;
  private cid = 0;
  private cmdSN = 0;
  private stage: number = LoginStage.Security;
  private readonly textParts: Buffer[] = [];
  private textLength = 0;
  private started = false;
  private sessionType: SessionType = 'Normal';
  private initiatorName = '';
  private initiatorAlias: string | undefined;
  private target: TargetEntry | undefined;
  private auth: AuthState = 'unset';
  private challenge: ChapChallenge | undefined;
  private declaredMaxRecv = false;
  private readonly params = defaultParameters();

  constructor(
    private readonly catalog: TargetCatalog,
    private readonly portal: PortalAddress,
    /** Whether a session with this TSIH exists (connection-add attempts). */
    private readonly tsihExists: (tsih: number) => boolean,
  ) {}

  handle(pdu: Pdu): LoginStep {
    const bhs = pdu.bhs;
    this.pdus += 1;
    const itt = ittOf(bhs);
    if (this.isid === undefined) {
      this.isid = Buffer.from(isidOf(bhs));
      this.tsih = tsihOf(bhs);
      this.cid = cidOf(bhs);
      this.cmdSN = cmdSNOf(bhs);
    }
    if (opcodeOf(bhs) !== InitiatorOpcode.LoginRequest) return this.fail(itt, LoginStatus.InvalidDuringLogin, 'non-login PDU during login');
    if (this.pdus > MAX_LOGIN_PDUS) return this.fail(itt, LoginStatus.InitiatorError, 'too many login PDUs');
    // RFC 7143 §11.12.4: Version-min above what we speak (0x00).
    const versionMin = statusOf(bhs);
    if (versionMin > 0) return this.fail(itt, LoginStatus.UnsupportedVersion, `version-min ${versionMin}`);
    if (!this.isid.equals(isidOf(bhs)) || this.tsih !== tsihOf(bhs)) {
      return this.fail(itt, LoginStatus.InitiatorError, 'ISID/TSIH changed during login');
    }
    // RFC 7143 §11.12.1: the T bit sits where other PDUs have F.
    const transit = finalBit(bhs);
    const csg = currentStageOf(bhs);
    const nsg = nextStageOf(bhs);
    if (csg === 2 || (transit && (nsg === 2 || nsg <= csg)) || csg < this.stage) {
      return this.fail(itt, LoginStatus.InitiatorError, `bad stage transition CSG=${csg} NSG=${nsg}`);
    }
    if (transit && continueBit(bhs)) return this.fail(itt, LoginStatus.InitiatorError, 'T and C both set');
    this.stage = csg;

    this.textLength += pdu.data.length;
    if (this.textLength > MAX_LOGIN_TEXT) return this.fail(itt, LoginStatus.InitiatorError, 'login text too long');
    this.textParts.push(Buffer.from(pdu.data));
    if (continueBit(bhs)) {
      // RFC 7143 §11.12.2: the initiator continues its text; answer with an empty response.
      return { outcome: 'more', reply: this.reply(itt, false, csg, csg, LoginStatus.Success, []) };
    }
    const text = Buffer.concat(this.textParts);
    this.textParts.length = 0;
    this.textLength = 0;
    const { pairs, invalid } = parseKeys(text);
    if (invalid.length > 0) return this.fail(itt, LoginStatus.InitiatorError, `malformed key: ${invalid[0]}`);
    const answers: KeyValue[] = [];

    if (!this.started) {
      const failure = this.start(pairs, answers);
      if (failure) return this.fail(itt, failure[0], failure[1]);
      this.started = true;
    }
    if (csg === LoginStage.Security) {
      const failure = this.security(pairs, answers);
      if (failure) return this.fail(itt, LoginStatus.AuthenticationFailure, failure);
    } else if (this.authRequired() && this.auth !== 'done') {
      return this.fail(itt, LoginStatus.AuthenticationFailure, 'operational stage without authentication');
    }
    answers.push(...negotiate(pairs, this.params, this.sessionType === 'Discovery'));

    const authenticated = !this.authRequired() || this.auth === 'done';
    if (transit && !authenticated && this.auth !== 'chap-a' && this.auth !== 'chap-r') {
      return this.fail(itt, LoginStatus.AuthenticationFailure, 'authentication required');
    }
    const willTransit = transit && authenticated;
    if ((csg === LoginStage.Operational || (willTransit && nsg === LoginStage.FullFeature)) && !this.declaredMaxRecv) {
      this.declaredMaxRecv = true;
      answers.push(['MaxRecvDataSegmentLength', String(TARGET_LIMITS.maxRecvDataSegmentLength)]);
    }
    const reply = this.reply(itt, willTransit, csg, willTransit ? nsg : csg, LoginStatus.Success, answers);
    if (willTransit) this.stage = nsg;
    if (willTransit && nsg === LoginStage.FullFeature) {
      return {
        outcome: 'done',
        reply,
        result: {
          sessionType: this.sessionType,
          initiatorName: this.initiatorName,
          initiatorAlias: this.initiatorAlias,
          target: this.target,
          isid: this.isid,
          cid: this.cid,
          cmdSN: this.cmdSN,
          params: this.params,
        },
      };
    }
    return { outcome: 'more', reply };
  }

  /** Declarations of the first complete request: who, to whom, which kind of session. */
  private start(pairs: readonly KeyValue[], answers: KeyValue[]): [LoginStatus, string] | undefined {
    const get = (key: string): string | undefined => pairs.find(([k]) => k === key)?.[1];
    const initiatorName = get('InitiatorName');
    if (!initiatorName) return [LoginStatus.MissingParameter, 'no InitiatorName'];
    this.initiatorName = initiatorName;
    this.initiatorAlias = get('InitiatorAlias');
    const sessionType = get('SessionType') ?? 'Normal';
    if (sessionType !== 'Normal' && sessionType !== 'Discovery') return [LoginStatus.SessionTypeNotSupported, `SessionType ${sessionType}`];
    this.sessionType = sessionType;
    if (this.tsih !== 0) {
      // MaxConnections is 1: a login naming an existing session cannot add a connection.
      if (!this.tsihExists(this.tsih)) return [LoginStatus.SessionDoesNotExist, `TSIH ${this.tsih}`];
      return [LoginStatus.TooManyConnections, 'MaxConnections=1'];
    }
    if (sessionType === 'Discovery') return undefined;
    const targetName = get('TargetName');
    if (!targetName) return [LoginStatus.MissingParameter, 'no TargetName'];
    const target = this.catalog.target(targetName);
    if (!target || !target.portalGroupTags.includes(this.portal.portalGroupTag)) return [LoginStatus.TargetNotFound, `target ${targetName}`];
    if (target.allowedInitiators.length > 0 && !target.allowedInitiators.includes(initiatorName)) {
      return [LoginStatus.AuthorizationFailure, `${initiatorName} not in the ACL of ${targetName}`];
    }
    this.target = target;
    // RFC 7143 §13.9: the first Login Response of a normal session carries the TPGT.
    answers.push(['TargetPortalGroupTag', String(this.portal.portalGroupTag)]);
    if (target.alias) answers.push(['TargetAlias', target.alias]);
    return undefined;
  }

  private credentials(): ChapCredentials | undefined {
    return this.sessionType === 'Discovery' ? this.catalog.discoveryChap : this.target?.chap;
  }

  private authRequired(): boolean {
    return this.credentials() !== undefined;
  }

  /** Security stage keys (RFC 7143 §12.1.3); returns a failure reason. */
  private security(pairs: readonly KeyValue[], answers: KeyValue[]): string | undefined {
    const get = (key: string): string | undefined => pairs.find(([k]) => k === key)?.[1];
    const credentials = this.credentials();
    const authMethod = get('AuthMethod');
    if (authMethod !== undefined && this.auth === 'unset') {
      const offered = authMethod.split(',');
      if (credentials) {
        if (!offered.includes('CHAP')) return `AuthMethod ${authMethod} but CHAP required`;
        this.auth = 'chap-a';
        answers.push(['AuthMethod', 'CHAP']);
      } else if (offered.includes('None')) {
        this.auth = 'none';
        answers.push(['AuthMethod', 'None']);
      } else {
        answers.push(['AuthMethod', 'Reject']);
        return `AuthMethod ${authMethod} without None, and no CHAP configured`;
      }
    }
    const chapA = get('CHAP_A');
    if (chapA !== undefined && this.auth === 'chap-a') {
      const algorithm = pickAlgorithm(chapA);
      if (algorithm === undefined) return `no supported CHAP_A in ${chapA}`;
      this.challenge = newChallenge(algorithm);
      this.auth = 'chap-r';
      answers.push(['CHAP_A', String(algorithm)], ['CHAP_I', String(this.challenge.id)], ['CHAP_C', encodeHex(this.challenge.challenge)]);
      return undefined;
    }
    const chapN = get('CHAP_N');
    const chapR = get('CHAP_R');
    if (this.auth === 'chap-r' && credentials && this.challenge) {
      if (chapN === undefined || chapR === undefined) return 'CHAP_N/CHAP_R missing';
      const response = decodeBinary(chapR);
      if (chapN !== credentials.user || !response || !verifyResponse(this.challenge, credentials.secret, response)) {
        return `CHAP response of ${chapN} does not match`;
      }
      const mutualId = get('CHAP_I');
      const mutualChallenge = get('CHAP_C');
      if (mutualId !== undefined || mutualChallenge !== undefined) {
        const id = Number.parseInt(mutualId ?? '', 10);
        const challenge = mutualChallenge ? decodeBinary(mutualChallenge) : undefined;
        if (!credentials.mutualUser || credentials.mutualSecret === undefined) return 'mutual CHAP requested but not configured';
        if (!Number.isInteger(id) || id < 0 || id > 255 || !challenge || challenge.length === 0) return 'bad mutual CHAP_I/CHAP_C';
        // A reflected challenge would let the initiator replay our own answer (RFC 7143 §12.1.3).
        if (challenge.equals(this.challenge.challenge)) return 'mutual CHAP challenge reflects ours';
        const answer = chapResponse(this.challenge.algorithm, id, credentials.mutualSecret, challenge);
        answers.push(['CHAP_N', credentials.mutualUser], ['CHAP_R', encodeHex(answer)]);
      }
      this.auth = 'done';
    }
    return undefined;
  }

  private reply(itt: number, transit: boolean, csg: number, nsg: number, status: LoginStatus, answers: readonly KeyValue[]): LoginReply {
    return { transit, continues: false, currentStage: csg, nextStage: nsg, isid: this.isid ?? Buffer.alloc(6), tsih: 0, itt, status, text: encodeKeys(answers) };
  }

  private fail(itt: number, status: LoginStatus, reason: string): LoginStep {
    return { outcome: 'failed', reason, reply: this.reply(itt, false, this.stage, this.stage, status, []) };
  }
}
