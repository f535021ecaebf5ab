// The OpenAPI document of this API, without a token (SPEC 2.5: docs endpoints are open).

import type { FastifyInstance } from 'fastify';
import type { RouteModule } from './index.ts';
import { OPEN } from '../auth.ts';

export const openApiRoutes: RouteModule = () => [{
  method: 'GET',
  // Served as /openapi.json: the .json suffix is the API's format suffix (SPEC 2.1).
  url: '/openapi',
  config: { access: OPEN, jsonOnly: true },
  schema: { summary: 'This OpenAPI 3.1 document', response: { 200: { type: 'object', additionalProperties: true } } },
  handler: async function (this: FastifyInstance) {
    return this.swagger();
  },
}];
