// One call for the dashboard's overview: top accounts by traffic in a window, each host's last
// reading, and the pipeline's health (rollup lag, export backlog and dead letters, anomalies).

import type { RouteModule } from './index.ts';
import { READ_ALL } from '../auth.ts';
import { optionalWindow, querySchemas } from '../params.ts';
import { listHosts } from '../../store/inventory.ts';
import { topAccounts } from '../../store/reports.ts';
import { newestReadingPerHost } from '../../store/counters.ts';
import { rollupLagMs } from '../../store/hours.ts';
import { exportBacklog } from '../../store/usageRecords.ts';
import { countDeadLetters } from '../../store/exports.ts';
import { countAnomalies } from '../../store/anomalies.ts';
import { HOUR_MS } from '../../domain/time.ts';

const exact = { type: 'integer' };

export const summaryRoutes: RouteModule = (api) => [{
  method: 'GET',
  url: '/management/usage/summary',
  config: { access: READ_ALL, jsonOnly: true },
  schema: {
    summary: 'Top accounts by traffic in the window (default the last 24 hours), hosts\' last readings, pipeline health',
    querystring: {
      type: 'object',
      properties: { startTime: querySchemas.startTime, endTime: querySchemas.endTime, top: { type: 'string', pattern: '^(?:[1-9][0-9]?|100)$', description: 'Top accounts to list, 1 to 100 (default 10)' } },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          startTime: { type: 'string' }, endTime: { type: 'string' },
          topAccounts: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                accountId: { type: 'integer' }, loadBalancers: { type: 'integer' },
                incomingTransfer: exact, outgoingTransfer: exact, incomingTransferSsl: exact, outgoingTransferSsl: exact,
              },
            },
          },
          hosts: {
            type: 'array',
            items: { type: 'object', properties: { hostId: { type: 'integer' }, name: { type: 'string' }, clusterId: { type: 'integer' }, polled: { type: 'boolean' }, lastReadingTime: { type: 'string' } } },
          },
          rollupLagSeconds: { type: 'integer' },
          exportBacklog: { type: 'integer' },
          deadLetters: { type: 'integer' },
          anomaliesHeld: { type: 'integer' },
        },
      },
    },
  },
  handler: async (request) => {
    const q = request.query as { startTime?: string; endTime?: string; top?: string };
    const nowMs = api.now();
    const window = optionalWindow(q, nowMs, 24 * HOUR_MS);
    const db = api.store.db;
    const [top, hosts, readings, rollupLag, backlog, deadLetters, anomalies] = await Promise.all([
      topAccounts(db, window.startMs, window.endMs, Number(q.top ?? 10)),
      listHosts(db), newestReadingPerHost(db), rollupLagMs(db, nowMs), exportBacklog(db), countDeadLetters(db), countAnomalies(db, 'HELD'),
    ]);
    return {
      startTime: api.printer.print(window.startMs),
      endTime: api.printer.print(window.endMs),
      topAccounts: top.map((a) => ({
        accountId: a.accountId, loadBalancers: a.loadBalancers,
        incomingTransfer: a.bytesIn, outgoingTransfer: a.bytesOut, incomingTransferSsl: a.bytesInSsl, outgoingTransferSsl: a.bytesOutSsl,
      })),
      hosts: hosts.map((h) => {
        const last = readings.get(h.id);
        return { hostId: h.id, name: h.name, clusterId: h.clusterId, polled: h.stats !== undefined, ...(last !== undefined ? { lastReadingTime: api.printer.print(last) } : {}) };
      }),
      rollupLagSeconds: rollupLag / 1000,
      exportBacklog: backlog,
      deadLetters,
      anomaliesHeld: [...anomalies.values()].reduce((a, b) => a + b, 0),
    };
  },
}];
