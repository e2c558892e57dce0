/**
 * A tiny iSCSI discovery responder for unit tests: answers one Login (T=1 to full feature), any
 * number of SendTargets text requests (optionally split over several PDUs), and Logout.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { BHS_LENGTH, InitiatorOpcode as Opcode, TargetOpcode } from '../../../../src/iscsi/constants.ts';
import { PduParser } from '../../../../src/iscsi/parser.ts';
import { opcodeOf, type Pdu } from '../../../../src/iscsi/pdu.ts';
import { encodeKeys } from '../../../../src/iscsi/text-keys.ts';

export interface FakeTargetOptions {
  readonly targets: readonly string[];
  /** Login status class to answer (0 = success). */
  readonly loginStatusClass?: number;
  /** Split the SendTargets answer over this many Text Responses (C bit / TTT continuation). */
  readonly textParts?: number;
}

function pdu(opcode: number, flags: number, data: Buffer, fill: (bhs: Buffer) => void): Buffer {
  const bhs = Buffer.alloc(BHS_LENGTH);
  bhs[0] = opcode;
  bhs[1] = flags;
  bhs.writeUIntBE(data.length, 5, 3);
  fill(bhs);
  return Buffer.concat([bhs, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

export async function startFakeTarget(opts: FakeTargetOptions): Promise<{ portal: string; server: Server; logins: () => number; close(): Promise<void> }> {
  let logins = 0;
  const server = createServer((socket) => {
    let statSN = 100;
    let pending: Buffer[] = [];
    const answer = (req: Pdu): void => {
      const itt = req.bhs.readUInt32BE(16);
      const common = (bhs: Buffer): void => {
        bhs.writeUInt32BE(itt, 16);
        bhs.writeUInt32BE(statSN++, 24);
        bhs.writeUInt32BE(req.bhs.readUInt32BE(24), 28);
        bhs.writeUInt32BE(req.bhs.readUInt32BE(24) + 8, 32);
      };
      const opcode = opcodeOf(req.bhs);
      if (opcode === Opcode.LoginRequest) {
        logins++;
        const cls = opts.loginStatusClass ?? 0;
        socket.write(pdu(TargetOpcode.LoginResponse, cls === 0 ? 0x87 : 0x00, cls === 0 ? encodeKeys([['HeaderDigest', 'None'], ['DataDigest', 'None']]) : Buffer.alloc(0), (bhs) => {
          common(bhs);
          bhs[36] = cls;
          bhs[37] = cls === 0 ? 0 : 1;
        }));
        if (cls !== 0) socket.end();
      } else if (opcode === Opcode.TextRequest) {
        if (req.bhs.readUInt32BE(20) === 0xffffffff) {
          const all = opts.targets.flatMap((t) => [['TargetName', t], ['TargetAddress', '127.0.0.1:3260,1']] as [string, string][]);
          const parts = Math.max(1, opts.textParts ?? 1);
          const per = Math.ceil(all.length / parts);
          pending = Array.from({ length: parts }, (_, i) => encodeKeys(all.slice(i * per, (i + 1) * per)));
        }
        const data = pending.shift() ?? Buffer.alloc(0);
        const last = pending.length === 0;
        socket.write(pdu(TargetOpcode.TextResponse, last ? 0x80 : 0x40, data, (bhs) => {
          common(bhs);
          bhs.writeUInt32BE(last ? 0xffffffff : 0x1234, 20);
        }));
      } else if (opcode === Opcode.LogoutRequest) {
        socket.end(pdu(TargetOpcode.LogoutResponse, 0x80, Buffer.alloc(0), common));
      }
    };
    const parser = new PduParser({ pdu: answer, error: () => socket.destroy() });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    portal: `127.0.0.1:${port}`, server, logins: () => logins,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nobody listens on (bound, then closed). */
export async function refusedPortal(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
