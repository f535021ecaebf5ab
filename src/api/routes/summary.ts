// One call for the dashboard's overview: the fleet's traffic in a window (totals, by hour, and the
// open hour read so far), top accounts, each host's last reading, and the pipeline's health
// (rollup lag, export backlog with a sink, dead letters, anomalies); and a load balancer found by
// its id alone (its account, for the dashboard's search).

import type { RouteModule } from './index.ts';
import { READ_ALL } from '../auth.ts';
import { optionalWindow, querySchemas } from '../params.ts';
import { listHosts } from '../../store/inventory.ts';
import { fleetTrafficByHour, openHourTraffic, topAccounts } from '../../store/reports.ts';
import { loadBalancerOwner } from '../../store/loadBalancers.ts';
import { notFound } from '../faults.ts';
import { pathSchemas } from '../params.ts';
import type { Transfers } from '../../domain/types.ts';
import { addTransfers, NO_BYTES } from '../../domain/delta.ts';
import { transferView } from '../views.ts';
import { newestReadingPerHost } from '../../store/counters.ts';
import { rollupLagMs } from '../../store/hours.ts';
import { exportBacklog } from '../../store/usageRecords.ts';
import { countDeadLetters } from '../../store/exports.ts';
import { countAnomalies } from '../../store/anomalies.ts';
import { floorHour, HOUR_MS } from '../../domain/time.ts';

const exact = { type: 'integer' };
const traffic = { incomingTransfer: exact, outgoingTransfer: exact, incomingTransferSsl: exact, outgoingTransferSsl: exact };

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
          fleet: { type: 'object', description: 'Bytes of every record starting in the window', properties: traffic },
          hours: { type: 'array', items: { type: 'object', properties: { startTime: { type: 'string' }, ...traffic } } },
          openHour: { type: 'object', description: 'The hour not rolled up yet: what its readings bill so far (provisional)', properties: { startTime: { type: 'string' }, provisional: { type: 'boolean' }, ...traffic } },
          topAccounts: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                accountId: { type: 'integer' }, loadBalancers: { type: 'integer' }, ...traffic,
              },
            },
          },
          hosts: {
            type: 'array',
            items: { type: 'object', properties: { hostId: { type: 'integer' }, name: { type: 'string' }, clusterId: { type: 'integer' }, polled: { type: 'boolean' }, lastReadingTime: { type: 'string' } } },
          },
          rollupLagSeconds: { type: 'integer' },
          exportBacklog: { type: 'integer', description: 'Final records waiting for the billing sink; absent without one' },
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
    const openHourMs = floorHour(nowMs);
    const [top, hours, open, hosts, readings, rollupLag, backlog, deadLetters, anomalies] = await Promise.all([
      topAccounts(db, window.startMs, window.endMs, Number(q.top ?? 10)),
      fleetTrafficByHour(db, window.startMs, window.endMs),
      window.endMs > openHourMs ? openHourTraffic(db, openHourMs, nowMs) : undefined,
      listHosts(db), newestReadingPerHost(db), rollupLagMs(db, nowMs), api.config.export.url ? exportBacklog(db) : undefined, countDeadLetters(db), countAnomalies(db, 'HELD'),
    ]);
    return {
      startTime: api.printer.print(window.startMs),
      endTime: api.printer.print(window.endMs),
      fleet: transferView(hours.reduce<Transfers>(addTransfers, NO_BYTES)),
      hours: hours.map((h) => ({ startTime: api.printer.print(h.hourMs), ...transferView(h) })),
      ...(open ? { openHour: { startTime: api.printer.print(openHourMs), provisional: true, ...transferView(open) } } : {}),
      topAccounts: top.map((a) => ({ accountId: a.accountId, loadBalancers: a.loadBalancers, ...transferView(a) })),
      hosts: hosts.map((h) => {
        const last = readings.get(h.id);
        return { hostId: h.id, name: h.name, clusterId: h.clusterId, polled: h.stats !== undefined, ...(last !== undefined ? { lastReadingTime: api.printer.print(last) } : {}) };
      }),
      rollupLagSeconds: rollupLag / 1000,
      ...(backlog !== undefined ? { exportBacklog: backlog } : {}),
      deadLetters,
      anomaliesHeld: [...anomalies.values()].reduce((a, b) => a + b, 0),
    };
  },
},
{
  method: 'GET',
  url: '/management/usage/summary/loadbalancers/:loadBalancerId',
  config: { access: READ_ALL, jsonOnly: true },
  schema: {
    summary: 'A load balancer found by its id alone: its account and name (the dashboard\'s search)',
    params: { type: 'object', properties: { loadBalancerId: pathSchemas.loadBalancerId }, required: ['loadBalancerId'] },
    response: { 200: { type: 'object', properties: { loadBalancerId: { type: 'integer' }, accountId: { type: 'integer' }, name: { type: 'string' } } } },
  },
  handler: async (request) => {
    const id = Number((request.params as { loadBalancerId: string }).loadBalancerId);
    const owner = await loadBalancerOwner(api.store.db, id);
    if (!owner) throw notFound(`load balancer ${id} is not known to lbmeter (it appears once its CREATE_LOADBALANCER event is received)`);
    return { loadBalancerId: id, accountId: owner.accountId, name: owner.name };
  },
}];
