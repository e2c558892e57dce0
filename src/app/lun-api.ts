/**
 * Runtime LUN personality changes on the system's HTTP server (issue 11):
 *
 *   POST /api/luns/resize   {target, lun, size: "128M" | bytes} → 200 {target, lun, sizeBytes}
 *                           (400 {error, field} naming what is wrong; 404 for an unknown LUN; 409 for
 *                           a LUN of a mirror pair: its replica would not grow with it)
 *
 * Every I_T nexus of the LUN's target then gets CAPACITY DATA HAS CHANGED.
 */
import { parseSize } from '../config/size.ts';
import { HttpError, type HttpRoute, type RouteReply } from '../metrics/index.ts';
import { LunNotFoundError } from '../system/system.ts';
import type { HttpContext, HttpFeature } from './http-extensions.ts';

function field(body: Record<string, unknown>, key: string): unknown {
  const value = body[key];
  if (value === undefined || value === null) throw new HttpError(400, `${key}: is required`);
  return value;
}

export function lunApi({ system, replication }: HttpContext): HttpFeature {
  const routes: HttpRoute[] = [{
    method: 'POST', path: '/api/luns/resize', description: 'grow a LUN online {target, lun, size}; every nexus gets CAPACITY DATA HAS CHANGED',
    handle: async ({ body }): Promise<RouteReply> => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be {"target": IQN, "lun": N, "size": "128M"}');
      const request = body as Record<string, unknown>;
      const target = field(request, 'target');
      const lun = field(request, 'lun');
      const sizeValue = field(request, 'size');
      if (typeof target !== 'string') return { status: 400, body: { error: 'target: expected an IQN', field: 'target' } };
      if (typeof lun !== 'number' || !Number.isInteger(lun) || lun < 0) return { status: 400, body: { error: 'lun: expected a LUN number', field: 'lun' } };
      const sizeBytes = typeof sizeValue === 'string' || typeof sizeValue === 'number' ? parseSize(sizeValue) : undefined;
      if (sizeBytes === undefined) return { status: 400, body: { error: `size: ${JSON.stringify(sizeValue)} is not a size (use 512, 64K, 1G, 10T)`, field: 'size' } };
      const view = system.lun(target, lun);
      const naa = view?.naa.toLowerCase();
      const pair = replication?.engine.pairs().find((p) => p.record.source.naa.toLowerCase() === naa || p.record.target.naa.toLowerCase() === naa);
      if (pair !== undefined) throw new HttpError(409, `LUN ${lun} of ${target} is in mirror pair ${pair.pairId}: its replica would not grow with it (delete the pair first)`);
      try {
        const resized = await system.resizeLun(target, lun, sizeBytes);
        return { status: 200, body: { target: resized.targetIqn, lun: resized.lun, sizeBytes: resized.sizeBytes } };
      } catch (error) {
        if (error instanceof LunNotFoundError) throw new HttpError(404, error.message);
        if (error instanceof RangeError) return { status: 400, body: { error: error.message, field: 'size' } };
        throw error;
      }
    },
  }];
  return { routes };
}
