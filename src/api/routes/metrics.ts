// Prometheus scrapes /metrics without a token (SPEC 2.5); LBMETER_METRICS=off removes it.

import type { RouteModule } from './index.ts';
import { OPEN } from '../auth.ts';

export const metricsRoutes: RouteModule = (api) => (api.config.metrics ? [{
  method: 'GET',
  url: '/metrics',
  config: { access: OPEN, ownMediaType: true },
  schema: {
    summary: 'Prometheus metrics of this process (text exposition format); no token needed',
    response: { 200: { type: 'string', description: 'Prometheus text exposition format' } },
  },
  handler: async (_request, reply) => {
    const text = await api.metrics.exposition();
    return reply.type(api.metrics.registry.contentType).send(text);
  },
}] : []);
