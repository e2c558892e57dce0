/**
 * A minimal scripted initiator for fabric tests: builds request PDUs, reads response PDUs through the
 * fabric's own parser, and wraps the common login. Runs against a real IscsiFabric, either over a
 * duplex pair handed to fabric.handle() (no socket: `loginAndConnect`, `startDuplexFabric`) or over
 * TCP on 127.0.0.1:0 (`startFabric` + `TestInitiator.connect`, for what needs a real portal: SendTargets
 * addresses, socket buffers).
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import type { Test } from 'tap';
import { IscsiFabric, type FabricOptions } from '../../../../src/iscsi/fabric.ts';
import { PduParser, type ParseError } from '../../../../src/iscsi/parser.ts';
import type { Pdu } from '../../../../src/iscsi/pdu.ts';
import { encodeKeys, parseKeys, type KeyValue } from '../../../../src/iscsi/text-keys.ts';
import type { PortalAddress } from '../../../../src/iscsi/catalog.ts';
import { connectedPair } from './duplex.ts';
import { FakeDevice, fakeCatalog, iqnOf, type FakeCatalogOptions } from './fake-device.ts';

export interface Harness {
  readonly fabric: IscsiFabric;
  readonly device: FakeDevice;
  readonly port: number;
}

export async function startFabric(t: Test, options: FakeCatalogOptions & { fabric?: FabricOptions; blocks?: number } = {}): Promise<Harness> {
  const device = new FakeDevice(options.blocks);
  const catalog = fakeCatalog(device, options);
  const fabric = new IscsiFabric(catalog, { logoutWaitMs: 0, ...options.fabric });
  const portal = catalog.portals[0] ?? { address: '127.0.0.1', port: 0, portalGroupTag: 1 };
  const listening = await fabric.listen(portal);
  if (catalog.portals.length === 0) catalog.portals.push({ address: '127.0.0.1', port: listening.port, portalGroupTag: 1 });
  t.teardown(() => fabric.close());
  return { fabric, device, port: listening.port };
}

export interface DuplexHarness {
  readonly fabric: IscsiFabric;
  readonly device: FakeDevice;
  readonly portal: PortalAddress;
  /** A new initiator connection over a duplex pair, as if it had arrived on `portal`. */
  connect(): TestInitiator;
}

/** A fabric that never listens: every connection is a duplex pair handed to fabric.handle(). */
export function startDuplexFabric(t: Test, options: FakeCatalogOptions & { fabric?: FabricOptions; blocks?: number } = {}): DuplexHarness {
  const device = new FakeDevice(options.blocks);
  const portal: PortalAddress = { address: '192.0.2.1', port: 3260, portalGroupTag: 1 };
  const catalog = fakeCatalog(device, { portals: [portal], ...options });
  const fabric = new IscsiFabric(catalog, { logoutWaitMs: 0, ...options.fabric });
  t.teardown(() => fabric.close());
  return {
    fabric,
    device,
    portal,
    connect: () => {
      const [targetEnd, initiatorEnd] = connectedPair();
      fabric.handle(targetEnd, { peer: 'duplex-pair:1', localAddress: undefined }, portal);
      const initiator = new TestInitiator(initiatorEnd);
      t.teardown(() => initiatorEnd.destroy());
      return initiator;
    },
  };
}

/**
 * aedes' createAndConnect for iSCSI: a fabric over a duplex pair and one initiator logged in to a
 * normal session with `keys` on top of the defaults.
 */
export async function loginAndConnect(
  t: Test,
  options: FakeCatalogOptions & { fabric?: FabricOptions; blocks?: number; keys?: readonly KeyValue[] } = {},
): Promise<{ h: DuplexHarness; i: TestInitiator; keys: Map<string, string> }> {
  const h = startDuplexFabric(t, options);
  const i = h.connect();
  const keys = await i.loginNormal(undefined, options.keys ?? []);
  return { h, i, keys };
}

export interface BhsFields {
  opcode: number;
  immediate?: boolean;
  flags?: number;
  byte2?: number;
  byte3?: number;
  lun?: number;
  itt?: number;
  f20?: number;
  f24?: number;
  f28?: number;
  f32?: number;
  f36?: number;
  f40?: number;
  f44?: number;
  /** Bytes 8..15 raw (ISID/TSIH for login). */
  bytes8?: Buffer;
  /** Bytes 32..47 raw (CDB). */
  bytes32?: Buffer;
}

export function bhs(f: BhsFields, dataLength: number): Buffer {
  const b = Buffer.alloc(48);
  b[0] = f.opcode | (f.immediate ? 0x40 : 0);
  b[1] = f.flags ?? 0x80;
  b[2] = f.byte2 ?? 0;
  b[3] = f.byte3 ?? 0;
  b[5] = (dataLength >> 16) & 0xff;
  b[6] = (dataLength >> 8) & 0xff;
  b[7] = dataLength & 0xff;
  if (f.bytes8) f.bytes8.copy(b, 8);
  else if (f.lun !== undefined) b[9] = f.lun;
  b.writeUInt32BE((f.itt ?? 0) >>> 0, 16);
  b.writeUInt32BE((f.f20 ?? 0) >>> 0, 20);
  b.writeUInt32BE((f.f24 ?? 0) >>> 0, 24);
  b.writeUInt32BE((f.f28 ?? 0) >>> 0, 28);
  if (f.bytes32) f.bytes32.copy(b, 32);
  else {
    b.writeUInt32BE((f.f32 ?? 0) >>> 0, 32);
    b.writeUInt32BE((f.f36 ?? 0) >>> 0, 36);
    b.writeUInt32BE((f.f40 ?? 0) >>> 0, 40);
    b.writeUInt32BE((f.f44 ?? 0) >>> 0, 44);
  }
  return b;
}

/** Whole PDU bytes (BHS + padded data + optional digests). */
export function frame(header: Buffer, data: Buffer = Buffer.alloc(0), digests: { header?: boolean; data?: boolean } = {}): Buffer {
  const parts = [header];
  if (digests.header) parts.push(le32(crc32c(header)));
  if (data.length > 0) {
    const padded = Buffer.concat([data, Buffer.alloc((4 - (data.length & 3)) & 3)]);
    parts.push(padded);
    if (digests.data) parts.push(le32(crc32c(padded)));
  }
  return Buffer.concat(parts);
}

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

export const ISID = Buffer.from([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]);

export class TestInitiator {
  readonly stream: Duplex;
  private readonly queue: Pdu[] = [];
  private readonly waiters: ((pdu: Pdu | undefined) => void)[] = [];
  private readonly parser: PduParser;
  closed = false;
  parseError: ParseError | undefined;
  cmdSN = 1;
  itt = 1;
  digests = { header: false, data: false };

  constructor(stream: Duplex) {
    this.stream = stream;
    this.parser = new PduParser({ pdu: (p) => this.deliver(p), error: (e) => (this.parseError = e) }, 1 << 24);
    stream.on('data', (chunk: Buffer) => this.parser.push(chunk));
    stream.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
    stream.on('error', () => undefined);
  }

  static async connect(t: Test, port: number, host = '127.0.0.1'): Promise<TestInitiator> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const initiator = new TestInitiator(socket);
    t.teardown(() => {
      socket.destroy();
    });
    return initiator;
  }

  private deliver(pdu: Pdu): void {
    const copy = { bhs: Buffer.from(pdu.bhs), ahs: pdu.ahs, data: Buffer.from(pdu.data) };
    const waiter = this.waiters.shift();
    if (waiter) waiter(copy);
    else this.queue.push(copy);
  }

  send(header: Buffer, data?: Buffer): void {
    this.stream.write(frame(header, data, this.digests));
  }

  sendRaw(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** The next PDU from the target, or undefined when the connection closed. The bound only catches hangs:
   * generous, so a loaded CI machine never fails a test on timing. */
  next(timeoutMs = 30_000): Promise<Pdu | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no PDU within timeout')), timeoutMs);
      this.waiters.push((pdu) => {
        clearTimeout(timer);
        resolve(pdu);
      });
    });
  }

  /**
   * Sends an immediate NOP-Out ping and resolves with the PDUs that arrived before its NOP-In echo.
   * The target handles a connection's PDUs one at a time in order, so whatever it sends when it
   * handles an earlier PDU (an R2T, a response) precedes the echo: an empty list proves the target
   * stayed silent, through an event rather than a wait. The PDUs are consumed.
   */
  async pdusBeforePing(): Promise<Pdu[]> {
    const itt = this.itt++;
    this.send(bhs({ opcode: 0x00, immediate: true, flags: 0x80, itt, f20: 0xffffffff, f24: this.cmdSN }, 0));
    const before: Pdu[] = [];
    while (true) {
      const pdu = await this.next();
      if (!pdu) throw new Error('connection closed before the NOP-In echo');
      if (pdu.bhs[0] === 0x20 && pdu.bhs.readUInt32BE(16) === itt) return before;
      before.push(pdu);
    }
  }

  waitClosed(timeoutMs = 30_000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.stream.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  loginPdu(keys: readonly KeyValue[], o: { csg?: number; nsg?: number; transit?: boolean; isid?: Buffer; tsih?: number; versionMin?: number } = {}): void {
    const csg = o.csg ?? 1;
    const nsg = o.nsg ?? 3;
    const transit = o.transit ?? true;
    const bytes8 = Buffer.alloc(8);
    (o.isid ?? ISID).copy(bytes8, 0);
    bytes8.writeUInt16BE(o.tsih ?? 0, 6);
    const text = encodeKeys(keys);
    this.send(bhs({ opcode: 0x03, immediate: true, flags: (transit ? 0x80 : 0) | (csg << 2) | nsg, byte3: o.versionMin ?? 0, bytes8, itt: this.itt, f24: this.cmdSN }, text.length), text);
  }

  /** Logs in to a normal (or discovery) session in one operational-stage PDU; returns the reply keys. */
  async login(keys: readonly KeyValue[], o: { isid?: Buffer } = {}): Promise<{ status: number; keys: Map<string, string>; pdu: Pdu }> {
    this.loginPdu(keys, { isid: o.isid });
    const pdu = await this.next();
    if (!pdu) throw new Error('connection closed during login');
    const status = pdu.bhs.readUInt16BE(36);
    const map = new Map(parseKeys(pdu.data).pairs);
    if (status === 0) {
      this.digests = { header: map.get('HeaderDigest') === 'CRC32C', data: map.get('DataDigest') === 'CRC32C' };
      this.parser.headerDigest = this.digests.header;
      this.parser.dataDigest = this.digests.data;
    }
    return { status, keys: map, pdu };
  }

  async loginNormal(target = iqnOf(0), extra: readonly KeyValue[] = [], o: { isid?: Buffer } = {}): Promise<Map<string, string>> {
    const result = await this.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Normal'], ['TargetName', target], ...extra], o);
    if (result.status !== 0) throw new Error(`login failed 0x${result.status.toString(16)}`);
    return result.keys;
  }

  /** SCSI Command PDU; returns its ITT. */
  command(cdb: Buffer, o: { read?: boolean; write?: boolean; edtl: number; final?: boolean; data?: Buffer; immediate?: boolean; lun?: number; cmdSN?: number }): number {
    const itt = this.itt++;
    const bytes32 = Buffer.alloc(16);
    cdb.copy(bytes32);
    const flags = ((o.final ?? true) ? 0x80 : 0) | (o.read ? 0x40 : 0) | (o.write ? 0x20 : 0) | 1;
    const cmdSN = o.cmdSN ?? this.cmdSN;
    if (o.cmdSN === undefined && !o.immediate) this.cmdSN += 1;
    this.send(bhs({ opcode: 0x01, immediate: o.immediate, flags, lun: o.lun ?? 0, itt, f20: o.edtl, f24: cmdSN, bytes32 }, o.data?.length ?? 0), o.data);
    return itt;
  }

  dataOut(itt: number, ttt: number, dataSN: number, offset: number, data: Buffer, final: boolean): void {
    this.send(bhs({ opcode: 0x05, flags: final ? 0x80 : 0, itt, f20: ttt, f36: dataSN, f40: offset }, data.length), data);
  }
}

export { read10, write10 } from '../../../support/cdbs.ts';

export function keysOf(pdu: Pdu): Map<string, string> {
  return new Map(parseKeys(pdu.data).pairs);
}
