/**
 * The fault injection API on the system's HTTP server, and the /metrics counter of injected faults:
 *
 *   GET    /api/faults            {system, rules: [{id, target, lun, action, ..., seen, fired}]}
 *   POST   /api/faults            a rule {target?, lun?, action, ...} → 201 the rule with its id
 *                                 (400 {error, field} naming what is wrong)
 *   DELETE /api/faults/<id>       → 200 {removed: rule}; 404 when there is no such rule
 *   DELETE /api/faults[?target=IQN&lun=N]  → 200 {removed: count}
 *
 * iscsi_sim_faults_injected_total{target, lun, rule, action} counts every fault that fired.
 */
import { Counter, Registry } from 'prom-client';
import { ConfigError } from '../config/errors.ts';
import { HttpError, type HttpRoute, type RouteReply } from '../metrics/index.ts';
import type { HttpContext, HttpFeature } from './http-extensions.ts';

export function faultApi({ system, faults }: HttpContext): HttpFeature {
  const registry = new Registry();
  const injected = new Counter({
    name: 'iscsi_sim_faults_injected_total',
    help: 'Faults injected by fault rules (CHECK CONDITION, delay, no response, dropped connection, ...)',
    labelNames: ['target', 'lun', 'rule', 'action'],
    registers: [registry],
  });
  const stop = faults.onInjected((fault) => injected.inc({ target: fault.target, lun: String(fault.lun), rule: fault.ruleId, action: fault.action }));

  const routes: HttpRoute[] = [
    {
      method: 'GET', path: '/api/faults', description: 'fault rules of every LUN with how often each fired (JSON)',
      handle: () => ({ status: 200, body: { system: system.name, rules: faults.list() } }),
    },
    {
      method: 'POST', path: '/api/faults', description: 'add a fault rule {target?, lun?, action, ...}; answers it with its id',
      handle: ({ body }): RouteReply => {
        if (body === undefined) throw new HttpError(400, 'the body must be a fault rule as JSON ({"action": "busy", ...})');
        try {
          return { status: 201, body: faults.add(body) };
        } catch (error) {
          if (error instanceof ConfigError) return { status: 400, body: { error: error.message, field: error.field } };
          throw error;
        }
      },
    },
    {
      method: 'DELETE', path: /^\/api\/faults\/([^/]+)$/, description: 'remove one fault rule',
      handle: ({ params }) => {
        const removed = faults.remove(params[0] ?? '');
        if (removed === undefined) throw new HttpError(404, `no fault rule ${params[0] ?? ''} (GET /api/faults lists them)`);
        return { status: 200, body: { removed } };
      },
    },
    {
      method: 'DELETE', path: '/api/faults', description: 'remove every fault rule (?target=IQN&lun=N for one LUN)',
      handle: ({ query }) => {
        const lunText = query.get('lun');
        if (lunText !== null && !/^\d+$/.test(lunText)) throw new HttpError(400, `lun: "${lunText}" is not a LUN number`);
        const target = query.get('target');
        return { status: 200, body: { removed: faults.clear({ ...(target === null ? {} : { target }), ...(lunText === null ? {} : { lun: Number(lunText) }) }) } };
      },
    },
  ];
  return { routes, registries: [registry], close: () => { stop(); } };
}
