/** A TCP connection that yields whole PDUs (or 'closed' / 'timeout'), never throwing on socket errors. */
import { createConnection, type Socket } from 'node:net';
import { PduStream, type Pdu } from './pdu.ts';

export type NextResult = Pdu | 'closed' | 'timeout';

export class WireConnection {
  readonly stream = new PduStream();
  private readonly socket: Socket;
  private readonly ready: Pdu[] = [];
  private wake: (() => void) | undefined;
  private isClosed = false;
  /** Local TCP port: lets a test find this connection in the server's log. */
  localPort = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.stream.push(chunk);
      for (let pdu = this.stream.take(); pdu; pdu = this.stream.take()) this.ready.push(pdu);
      this.wake?.();
    });
    const closed = (): void => {
      this.isClosed = true;
      this.wake?.();
    };
    socket.on('error', closed);
    socket.on('close', closed);
    socket.on('end', closed);
  }

  static connect(host: string, port: number, timeoutMs = 10_000): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        const conn = new WireConnection(socket);
        conn.localPort = socket.localPort ?? 0;
        resolve(conn);
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(bytes: Buffer): void {
    if (!this.isClosed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Half-close: no more bytes from us (a truncated PDU stays truncated). */
  endOutput(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  async next(timeoutMs: number): Promise<NextResult> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const pdu = this.ready.shift();
      if (pdu) return pdu;
      if (this.isClosed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        // eslint-disable-next-line no-restricted-syntax -- the bound of an event wait: wake() ends it on a PDU or close
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
