/**
 * A server-accepted TCP socket re-wrapped to read into one buffer that is reused for every read
 * (Node's `onread` option, which net.Server does not offer for the sockets it accepts). Without it
 * every read allocates a fresh 64 KiB ArrayBuffer: at a few hundred MB/s of writes that external
 * memory made V8 run a full mark-compact for every ~64 MB received. The bytes handed to `onChunk`
 * are overwritten by the next read: the connection's parser copies what it keeps (parser.ts).
 *
 * Uses Node's socket internals (`_handle`, `_server`); when they are not there the caller keeps the
 * socket as accepted and reads 'data' events.
 */
import { Socket } from 'node:net';

/** Bytes one read may take (a 256 KiB write burst in one syscall). */
const RECEIVE_BUFFER_BYTES = 256 * 1024;

interface SocketInternals {
  _handle?: object | null;
  _server?: unknown;
  server?: unknown;
}

/**
 * A socket over `accepted`'s connection reading into a reused buffer, or undefined (then use
 * `accepted` as it is). `accepted` must come from a server created with `pauseOnConnect: true`, so
 * nothing was read through it yet; after this call it must not be used.
 */
export function readIntoReusedBuffer(accepted: Socket, onChunk: (chunk: Buffer) => void): Socket | undefined {
  const old = accepted as unknown as SocketInternals;
  const handle = old._handle;
  if (handle === undefined || handle === null) return undefined;
  const buffer = Buffer.allocUnsafeSlow(RECEIVE_BUFFER_BYTES);
  let socket: Socket;
  try {
    const options = { handle, onread: { buffer, callback: (bytes: number) => void onChunk(buffer.subarray(0, bytes)) } };
    socket = new Socket(options as ConstructorParameters<typeof Socket>[0]);
  } catch {
    return undefined;
  }
  // The server counts its connections through the socket it accepted: hand that over, so closing
  // this socket is what lets server.close() complete.
  const wrapped = socket as unknown as SocketInternals;
  wrapped.server = old.server;
  wrapped._server = old._server;
  old.server = null;
  old._server = null;
  old._handle = null;
  return socket;
}
