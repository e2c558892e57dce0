/**
 * Routes added to the system's HTTP server by the composition root: JSON bodies parsed, the bearer
 * token required for non-GET when configured, HttpError answered with its status, 405 naming the
 * methods a path answers, params from a RegExp path, and the `/` index listing described routes.
 */
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { startSystemHttp } from '../../../src/metrics/http-server.ts';
import { HttpError, type HttpRoute } from '../../../src/metrics/http-routes.ts';

const items = new Map<string, unknown>();
const routes: HttpRoute[] = [
  { method: 'GET', path: '/api/things', description: 'list things', handle: () => ({ status: 200, body: [...items.entries()] }) },
  {
    method: 'POST', path: '/api/things', description: 'add a thing',
    handle: ({ body }) => {
      if (typeof body !== 'object' || body === null || typeof (body as { name?: unknown }).name !== 'string') throw new HttpError(400, 'name: is required');
      items.set((body as { name: string }).name, body);
      return { status: 201, body };
    },
  },
  { method: 'DELETE', path: /^\/api\/things\/([^/]+)$/, handle: ({ params }) => ({ status: items.delete(params[0] ?? '') ? 200 : 404, body: { removed: params[0] } }) },
  { method: 'GET', path: '/page', handle: () => ({ status: 200, body: '<p>hi</p>', contentType: 'text/html' }) },
];

async function server(t: Test, token?: string): Promise<string> {
  const http = await startSystemHttp({
    address: '127.0.0.1', port: 0, systemName: 'sim', registry: new Registry(), health: [], sessions: () => [], targets: () => [], routes,
    ...(token === undefined ? {} : { token }),
  });
  t.teardown(() => http.close());
  return http.url;
}

t.test('without a token: routes answer, bodies are JSON, errors carry their status', async (t) => {
  const url = await server(t);
  const added = await fetch(`${url}/api/things`, { method: 'POST', body: JSON.stringify({ name: 'a%b' }) });
  t.equal(added.status, 201);
  t.same(await added.json(), { name: 'a%b' });
  const bad = await fetch(`${url}/api/things`, { method: 'POST', body: '{nope' });
  t.equal(bad.status, 400);
  t.match((await bad.json()).error, /^request body is not JSON/);
  const missing = await fetch(`${url}/api/things`, { method: 'POST', body: '{}' });
  t.equal(missing.status, 400);
  t.same(await missing.json(), { error: 'name: is required' });
  t.equal((await fetch(`${url}/api/things/${encodeURIComponent('a%b')}`, { method: 'DELETE' })).status, 200, 'RegExp params are URL-decoded');
  const wrongMethod = await fetch(`${url}/api/things`, { method: 'PUT' });
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.get('allow'), 'GET, POST');
  t.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405, 'built-in endpoints stay GET only');
  const page = await fetch(`${url}/page`);
  t.equal(page.headers.get('content-type'), 'text/html');
  t.equal(await page.text(), '<p>hi</p>');
  const index = await (await fetch(`${url}/`)).json();
  t.equal(index.endpoints['GET /api/things'], 'list things');
  t.equal(index.endpoints['POST /api/things'], 'add a thing');
  t.ok(index.endpoints['/metrics'], 'built-ins still listed');
  t.equal((await fetch(`${url}/nope`)).status, 404);
});

t.test('with a token: non-GET needs Authorization: Bearer, GET does not', async (t) => {
  const url = await server(t, 'sekrit-token-0123456789');
  t.equal((await fetch(`${url}/api/things`)).status, 200, 'GET open');
  const refused = await fetch(`${url}/api/things`, { method: 'POST', body: JSON.stringify({ name: 'x' }) });
  t.equal(refused.status, 401);
  t.equal(refused.headers.get('www-authenticate'), 'Bearer');
  t.match((await refused.json()).error, /needs Authorization: Bearer/);
  const wrong = await fetch(`${url}/api/things`, { method: 'POST', headers: { authorization: 'Bearer wrong' }, body: JSON.stringify({ name: 'x' }) });
  t.equal(wrong.status, 401);
  const ok = await fetch(`${url}/api/things`, { method: 'POST', headers: { authorization: 'Bearer sekrit-token-0123456789' }, body: JSON.stringify({ name: 'x' }) });
  t.equal(ok.status, 201);
});
