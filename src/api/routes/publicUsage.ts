// The public (tenant) usage API: SPEC 3.7 to 3.10.

import type { RouteModule } from './index.ts';
import { usageRecordPageFollowingLinks } from '../pageBoundaries.ts';
import type { ApiContext } from '../app.ts';
import { PUBLIC } from '../auth.ts';
import { notFound } from '../faults.ts';
import { send, responds, isClosedWindow } from '../respond.ts';
import { RESPONSES } from '../format/shape.ts';
import { pathSchemas, pagedWindowQuery, parsePaging, optionalWindow, requiredWindow } from '../params.ts';
import { pageLinks } from '../paging.ts';
import { usageRecordView, accountUsageView, billableLoadBalancerView } from '../views.ts';
import { accountUsagePage } from '../../store/accountUsage.ts';
import { usageRecordsIn, draftToRecord, type UsageRecord } from '../../store/usageRecords.ts';
import { billableLoadBalancerIds, loadBalancerOwner, loadBalancerViews } from '../../store/loadBalancers.ts';
import { lastRolledHour } from '../../store/hours.ts';
import { rollHour } from '../../usage/hourRollup.ts';
import { DAY_MS, floorHour, HOUR_MS } from '../../domain/time.ts';

type Q = { startTime?: string; endTime?: string; offset?: string; limit?: string };
type AccountParams = { accountId: string };
type LbParams = { accountId: string; loadBalancerId: string };

const accountParams = { type: 'object', properties: { accountId: pathSchemas.accountId }, required: ['accountId'] };
const lbParams = {
  type: 'object',
  properties: { accountId: pathSchemas.accountId, loadBalancerId: pathSchemas.loadBalancerId },
  required: ['accountId', 'loadBalancerId'],
};

export const publicUsageRoutes: RouteModule = (api) => [
  {
    method: 'GET',
    url: '/v1.0/:accountId/loadbalancers/usage',
    config: { access: PUBLIC },
    schema: {
      summary: 'Account-level usage: account snapshots (paged) and each load balancer\'s records; default the last 24 hours',
      params: accountParams, querystring: pagedWindowQuery(false), response: responds(RESPONSES.accountBilling),
    },
    handler: async (request, reply) => {
      const accountId = Number((request.params as AccountParams).accountId);
      const q = request.query as Q;
      const window = optionalWindow(q, api.now(), DAY_MS);
      const paging = parsePaging(q);
      const page = await accountUsagePage(api.store.db, { ...window, accountId }, paging.offset, paging.limit);
      const records = await usageRecordsIn(api.store.db, { ...window, match: 'starts', accountId });
      return send(request, reply, RESPONSES.accountBilling, {
        accountId,
        accountUsage: {
          accountUsageRecords: page.records.map((r) => accountUsageView(r, api.printer, false)),
          links: pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more),
        },
        loadBalancerUsages: await loadBalancerUsages(api, records),
      }, { closedWindow: isClosedWindow(window, api.now(), api.config.graceMs) });
    },
  },
  {
    method: 'GET',
    url: '/v1.0/:accountId/loadbalancers/:loadBalancerId/usage',
    config: { access: PUBLIC },
    schema: {
      summary: 'Usage records of one load balancer, ascending start; default the last 90 days',
      params: lbParams, querystring: pagedWindowQuery(false), response: responds(RESPONSES.loadBalancerUsage),
    },
    handler: async (request, reply) => {
      const lbId = await ownedLoadBalancer(api, request.params as LbParams);
      const q = request.query as Q;
      const window = optionalWindow(q, api.now(), 90 * DAY_MS);
      const paging = parsePaging(q);
      const page = await usageRecordPageFollowingLinks(api.store.db, api.pageBoundaries, { ...window, match: 'starts', loadBalancerId: lbId }, paging);
      return send(request, reply, RESPONSES.loadBalancerUsage, {
        loadBalancerUsageRecords: page.records.map((r) => usageRecordView(r, api.printer, false)),
        links: pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more),
      }, { closedWindow: isClosedWindow(window, api.now(), api.config.graceMs) });
    },
  },
  {
    method: 'GET',
    url: '/v1.0/:accountId/loadbalancers/:loadBalancerId/usage/current',
    config: { access: PUBLIC },
    schema: {
      summary: 'The last 24 hours of one load balancer, including a provisional record of the hour in progress',
      params: lbParams,
      querystring: { type: 'object', properties: { offset: pagedWindowQuery(false).properties.offset, limit: pagedWindowQuery(false).properties.limit } },
      response: responds(RESPONSES.loadBalancerUsage),
    },
    handler: async (request, reply) => {
      const lbId = await ownedLoadBalancer(api, request.params as LbParams);
      const paging = parsePaging(request.query as Q);
      const records = await currentRecords(api, lbId);
      const page = records.slice(paging.offset, paging.offset + paging.limit);
      return send(request, reply, RESPONSES.loadBalancerUsage, {
        loadBalancerUsageRecords: page.map((r) => usageRecordView(r, api.printer, false)),
        links: pageLinks(api.config.baseUrl, request.originalUrl, paging, records.length > paging.offset + paging.limit),
      });
    },
  },
  {
    method: 'GET',
    url: '/v1.0/:accountId/loadbalancers/billable',
    config: { access: PUBLIC },
    schema: {
      summary: 'Load balancers of the account that existed at any moment of the window, ascending id',
      params: accountParams, querystring: pagedWindowQuery(true), response: responds(RESPONSES.loadBalancers),
    },
    handler: async (request, reply) => {
      const accountId = Number((request.params as AccountParams).accountId);
      const q = request.query as Q;
      const window = requiredWindow(q);
      const paging = parsePaging(q);
      const ids = await billableLoadBalancerIds(api.store.db, accountId, window.startMs, window.endMs, paging.offset, paging.limit + 1);
      const views = await loadBalancerViews(api.store.db, { ids: ids.slice(0, paging.limit) });
      return send(request, reply, RESPONSES.loadBalancers, {
        loadBalancers: views.map((lb) => billableLoadBalancerView(lb, api.printer)),
        links: pageLinks(api.config.baseUrl, request.originalUrl, paging, ids.length > paging.limit),
      });
    },
  },
];

/** The load balancer id of the path, if it belongs to the account of the path; else 404. */
async function ownedLoadBalancer(api: ApiContext, params: LbParams): Promise<number> {
  const lbId = Number(params.loadBalancerId);
  const owner = await loadBalancerOwner(api.store.db, lbId);
  if (!owner || owner.accountId !== Number(params.accountId)) throw notFound(`load balancer ${lbId} not found in account ${Number(params.accountId)}`);
  return lbId;
}

/** Records grouped per load balancer (ascending id) with its name, as loadBalancerUsage values. */
export async function loadBalancerUsages(api: ApiContext, records: UsageRecord[]) {
  const ids = [...new Set(records.map((r) => r.loadBalancerId))];
  const names = new Map((await loadBalancerViews(api.store.db, { ids })).map((lb) => [lb.id, lb.name]));
  return ids.map((id) => ({
    loadBalancerId: id,
    loadBalancerName: names.get(id) ?? '',
    loadBalancerUsageRecords: records.filter((r) => r.loadBalancerId === id).map((r) => usageRecordView(r, api.printer, false)),
    links: [],
  }));
}

/** Stored records of the last 24 hours, then provisional ones for the hours not rolled up yet. */
async function currentRecords(api: ApiContext, lbId: number) {
  const now = api.now();
  const window = { startMs: now - DAY_MS, endMs: now };
  const stored = await usageRecordsIn(api.store.db, { ...window, match: 'starts', loadBalancerId: lbId });
  const rolled = await lastRolledHour(api.store.db);
  const firstOpen = Math.max(floorHour(window.startMs), rolled === undefined ? -Infinity : rolled + HOUR_MS);
  const provisional: (Omit<UsageRecord, 'id'> & { id?: number })[] = [];
  for (let hour = firstOpen; hour <= now; hour += HOUR_MS) {
    const { drafts } = await rollHour(api.store.db, hour, Math.min(hour + HOUR_MS, now), { loadBalancerIds: [lbId] });
    for (const d of drafts) {
      if (d.startMs < window.startMs) continue;
      const { id: _none, ...record } = draftToRecord(d, 0);
      provisional.push(record);
    }
  }
  return [...stored.filter((r) => rolled === undefined || r.startMs < firstOpen), ...provisional];
}
