// LBMETER_METRICS_PORT: /metrics and /health on every lbmeter process, with or without the API,
// so pollers and job processes (`serve --no-api`) are scraped and watched like the API. Off by
// default (a port nobody asked for is not opened); the units in deploy/ set it. Only these two
// routes, no token: bind it where only Prometheus and the service manager reach it.

import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from './store/store.ts';
import type { Metrics } from './metrics.ts';
import { ApiFault } from './api/faults.ts';
import { HEALTH_SCHEMA, healthOf } from './api/routes/health.ts';

export interface ProcessRoles {
  api: boolean;
  poller: boolean;
  jobs: boolean;
}

/** Listens on host:port; the URL it listens on. Throws the listen error (the caller names the variable). */
export async function startMetricsServer(options: { host: string; port: number; store: Store; metrics: Metrics; roles: ProcessRoles }): Promise<{ app: FastifyInstance; url: string }> {
  const { store, metrics, roles } = options;
  const app = Fastify({ logger: false });
  app.get('/metrics', {
    schema: { response: { 200: { type: 'string' } } },
  }, async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.exposition()));
  app.get('/health', {
    schema: {
      response: {
        200: {
          ...HEALTH_SCHEMA.response[200],
          properties: {
            ...HEALTH_SCHEMA.response[200].properties,
            roles: { type: 'object', properties: { api: { type: 'boolean' }, poller: { type: 'boolean' }, jobs: { type: 'boolean' } } },
          },
        },
      },
    },
  }, async () => ({ ...(await healthOf(store)), roles }));
  app.setErrorHandler((err, _request, reply) => {
    const status = err instanceof ApiFault ? err.status : 500;
    return reply.code(status).headers(err instanceof ApiFault ? err.headers : {}).send({ code: status, message: err instanceof ApiFault ? err.message : 'the metrics could not be read' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 404, message: `no resource at ${request.method} ${request.url.split('?')[0]!.slice(0, 100)}: this port serves /metrics and /health` }));
  try {
    const url = await app.listen({ host: options.host, port: options.port });
    return { app, url };
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
}
