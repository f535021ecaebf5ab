// Every route of the API, registered in one place. Methods a path does not support answer 405
// with Allow instead of Fastify's 404.

import type { FastifyInstance, HTTPMethods, RouteOptions } from 'fastify';
import type { ApiContext } from '../app.ts';
import { ApiFault } from '../faults.ts';
import { OPEN } from '../auth.ts';
import { healthRoutes } from './health.ts';
import { publicUsageRoutes } from './publicUsage.ts';
import { managementAccountRoutes } from './managementAccounts.ts';
import { managementUsageRoutes } from './managementUsage.ts';
import { inventoryRoutes } from './inventory.ts';
import { ingestRoutes } from './ingest.ts';
import { metricsRoutes } from './metrics.ts';
import { openApiRoutes } from './openapi.ts';
import { summaryRoutes } from './summary.ts';
import { auditRoutes } from './audit.ts';

export type RouteDefinition = RouteOptions & { method: HTTPMethods };
export type RouteModule = (api: ApiContext) => RouteDefinition[];

const MODULES: RouteModule[] = [healthRoutes, publicUsageRoutes, managementAccountRoutes, managementUsageRoutes, inventoryRoutes, ingestRoutes, metricsRoutes, openApiRoutes, summaryRoutes, auditRoutes];
const ALL_METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Every route of the API (the OpenAPI test checks each is documented). */
export function allRoutes(api: ApiContext): RouteDefinition[] {
  return MODULES.flatMap((module) => module(api));
}

export function registerRoutes(app: FastifyInstance, api: ApiContext): void {
  const methodsByUrl = new Map<string, Set<string>>();
  for (const route of allRoutes(api)) {
    app.route(route);
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    methods.add(route.method);
    methodsByUrl.set(route.url, methods);
  }
  for (const [url, methods] of methodsByUrl) {
    const allow = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])].join(', ');
    const others = ALL_METHODS.filter((m) => !methods.has(m));
    if (others.length === 0) continue;
    app.route({
      method: others,
      url,
      // Whatever the token, the method is not one of this path's.
      config: { access: OPEN },
      handler: async (request) => {
        throw new ApiFault(405, `${request.method} is not supported here`, `allowed: ${allow}`, { allow });
      },
    });
  }
}
