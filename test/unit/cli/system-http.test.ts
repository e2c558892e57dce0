import t from 'tap';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getFromEach, readListings } from '../../../src/cli/system-http.ts';

t.test('getFromEach: each system\'s answer or its error, in the order asked, never a rejection', async (t) => {
  const server = createServer((request, response) => {
    if (request.url === '/api/faults') { response.setHeader('content-type', 'application/json'); response.end('{"system":"primary","rules":[]}'); return; }
    response.statusCode = 404;
    response.end('{"error":"no such route"}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); }));
  const up = { name: 'primary', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  // A loopback port just freed: refused at once.
  const closed = createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => { closed.close(() => resolve()); });
  const down = { name: 'peer', url: `http://127.0.0.1:${closedPort}` };
  const rows = await getFromEach<{ system: string; rules: unknown[] }>([up, down], '/api/faults', 5000);
  t.same(rows[0], { endpoint: up, answer: { system: 'primary', rules: [] } });
  t.equal(rows[1].endpoint, down);
  t.match('error' in rows[1] ? rows[1].error : '', `peer: not answering on http://127.0.0.1:${closedPort}/api/faults (ECONNREFUSED)`);
  const listings = await readListings<'rules', unknown>([up, down], '/api/faults', 'rules', 5000);
  t.same(listings[0], { endpoint: up, system: 'primary', rules: [] }, 'a listing names its system and its items');
  t.same(Object.keys(listings[1]).sort(), ['endpoint', 'error'], 'a failed system: its error only');
  const missing = await getFromEach([up], '/api/nothing', 5000);
  t.match('error' in missing[0] ? missing[0].error : '', /primary: GET \/api\/nothing answered 404: no such route/);
});
