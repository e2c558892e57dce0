/**
 * A loopback TCP proxy a test can cut and heal: a network partition between one system process and
 * its Redis (every connection through the proxy is dropped and new ones are refused while cut).
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly url: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function tcpProxy(targetHost: string, targetPort: number, scheme = 'redis'): Promise<TcpProxy> {
  let open = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!open) { client.destroy(); return; }
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    cut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    heal: () => { open = true; },
    close: () => new Promise((resolve) => {
      open = false;
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
