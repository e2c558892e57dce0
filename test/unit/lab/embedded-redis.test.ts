import t from 'tap';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { CLUSTER_BUS_OFFSET, freeLoopbackPortRange } from '../../../src/lab/embedded-redis.ts';

const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// The cluster failover test once failed in CI: redis-server could not bind its cluster bus port
// 36386 (data port 26386 + 10000), which an outgoing connection had taken from the ephemeral range.
t.test('cluster ranges: every port and its bus port free and below the ephemeral range', async (t) => {
  for (let i = 0; i < 5; i++) {
    const base = await freeLoopbackPortRange(14, { clusterBus: true });
    t.ok(base >= 20_000 && base + 13 + CLUSTER_BUS_OFFSET < ephemeralFrom, `${base}..${base + 13} (+10000) below ${ephemeralFrom}`);
    for (let port = base; port < base + 14; port++) {
      t.ok(await bindable(port) && await bindable(port + CLUSTER_BUS_OFFSET), `${port} and ${port + CLUSTER_BUS_OFFSET} free`);
    }
  }
});

t.test('plain ranges stay below the ephemeral range too', async (t) => {
  const base = await freeLoopbackPortRange(8);
  t.ok(base >= 20_000 && base + 7 < ephemeralFrom);
});
