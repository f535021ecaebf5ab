import type { RouteModule } from './index.ts';
import { OPEN } from '../auth.ts';
import { serviceUnavailable } from '../faults.ts';

export const healthRoutes: RouteModule = (api) => [{
  method: 'GET',
  url: '/health',
  config: { access: OPEN },
  schema: {
    summary: 'Liveness and store reachability; no token needed',
    response: { 200: { type: 'object', properties: { status: { type: 'string' }, engine: { type: 'string' } }, required: ['status'] } },
  },
  handler: async () => {
    try {
      await api.store.ping();
    } catch {
      throw serviceUnavailable('the usage store is unreachable');
    }
    return { status: 'ok', engine: api.store.engine };
  },
}];
