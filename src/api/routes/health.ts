import type { RouteModule } from './index.ts';
import { OPEN } from '../auth.ts';
import { serviceUnavailable } from '../faults.ts';
import type { Store } from '../../store/store.ts';

export const HEALTH_SCHEMA = {
  summary: 'Liveness and store reachability; no token needed',
  response: { 200: { type: 'object', properties: { status: { type: 'string' }, engine: { type: 'string' } }, required: ['status'] } },
} as const;

/** Alive, and the store answers: a 503 fault otherwise (the API's and the metrics port's /health). */
export async function healthOf(store: Store): Promise<{ status: 'ok'; engine: string }> {
  try {
    await store.ping();
  } catch {
    throw serviceUnavailable('the usage store is unreachable');
  }
  return { status: 'ok', engine: store.engine };
}

export const healthRoutes: RouteModule = (api) => [{
  method: 'GET',
  url: '/health',
  config: { access: OPEN },
  schema: HEALTH_SCHEMA,
  handler: () => healthOf(api.store),
}];
