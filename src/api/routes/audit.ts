// The audit (SPEC 5): which readings and events made a usage record, and the reconciliation of
// a window's final hours. Support, service-admin and billing; JSON and XML.

import type { RouteModule } from './index.ts';
import { READ_ALL } from '../auth.ts';
import { notFound } from '../faults.ts';
import { send, responds } from '../respond.ts';
import { RESPONSES } from '../format/shape.ts';
import { pathSchemas, requiredWindow, windowQuery } from '../params.ts';
import { recordSourcesView, reconciliationView } from '../views.ts';
import { recordSources } from '../../query/recordSources.ts';
import { reconcile } from '../../query/reconciliation.ts';

export const auditRoutes: RouteModule = (api) => [
  {
    method: 'GET',
    url: '/management/usage/records/:recordId/sources',
    config: { access: READ_ALL },
    schema: {
      summary: 'The readings (per host: counters, delta, and why it billed what it did), events and anomalies that made a usage record',
      description: 'A record id is unique within its load balancer (docs/decisions.md, Record ids): loadBalancerId names the record with it.',
      params: { type: 'object', properties: { recordId: pathSchemas.recordId }, required: ['recordId'] },
      querystring: { type: 'object', properties: { loadBalancerId: pathSchemas.loadBalancerId }, required: ['loadBalancerId'] },
      response: responds(RESPONSES.recordSources),
    },
    handler: async (request, reply) => {
      const id = Number((request.params as { recordId: string }).recordId);
      const lbId = Number((request.query as { loadBalancerId: string }).loadBalancerId);
      const sources = await recordSources(api.store.db, lbId, id);
      if (!sources) throw notFound(`load balancer ${lbId} has no usage record ${id}`);
      return send(request, reply, RESPONSES.recordSources, recordSourcesView(sources, api.printer));
    },
  },
  {
    method: 'GET',
    url: '/management/usage/reconciliation',
    config: { access: READ_ALL },
    schema: {
      summary: 'Per load balancer, over the final hours of the window: bytes in records + held + discarded = bytes of the deltas taken; differences listed',
      querystring: windowQuery(true), response: responds(RESPONSES.reconciliation),
    },
    handler: async (request, reply) => {
      const window = requiredWindow(request.query as { startTime?: string; endTime?: string });
      return send(request, reply, RESPONSES.reconciliation, reconciliationView(await reconcile(api.store.db, window.startMs, window.endMs), api.printer));
    },
  },
];
