// OpenAPI 3.1 generated from the route schemas (@fastify/swagger), served at /openapi.json,
// with Swagger UI at /docs (@fastify/swagger-ui: static assets from the package, no build).

import type { FastifyInstance, RouteOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Access } from './auth.ts';
import { OPEN } from './auth.ts';

export const DOCS_PREFIX = '/docs';

function accessNote(access: Access | undefined): string {
  if (!access || access.kind === 'open') return 'No token needed.';
  if (access.kind === 'public') return 'Token: a tenant token of the account in the path, or any management token.';
  return `Token with one of the roles: ${access.roles.join(', ')}.`;
}

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  // The UI serves its own media types, needs no token and is not part of the API it documents.
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(DOCS_PREFIX)) return;
    route.config = { ...(route.config as object), access: OPEN, ownMediaType: true };
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'lbmeter: Cloud Load Balancers usage and billing API',
        version,
        description: 'Usage records, account usage and billing (JSON, or XML with Accept: application/xml or a .xml suffix), and the write API that feeds them.',
      },
      components: { securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' } } },
    },
    transform: ({ schema, url, route }) => {
      const config = route.config as { access?: Access; jsonOnly?: boolean; ownMediaType?: boolean } | undefined;
      const access = config?.access;
      // Routes without a schema are the 405 answers for unsupported methods.
      if (!schema) return { schema: { hide: true }, url };
      const open = !access || access.kind === 'open';
      const description = [(schema as { description?: string }).description, accessNote(access)].filter(Boolean).join(' ');
      // Read routes answer in XML too (Accept or a .xml suffix), in the seeds' XML form.
      const produces = config?.jsonOnly || config?.ownMediaType ? undefined : ['application/json', 'application/xml'];
      return { schema: { ...schema, description, security: open ? [] : [{ token: [] }], ...(produces ? { produces } : {}) } as typeof schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, uiConfig: { docExpansion: 'list', deepLinking: true } });
}
