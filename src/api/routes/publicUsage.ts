// The public (tenant) usage API: SPEC 3.7 to 3.10.

import type { RouteModule } from './index.ts';
import { usageRecordPageFollowingLinks } from '../pageBoundaries.ts';
import type { ApiContext } from '../app.ts';
import { PUBLIC } from '../auth.ts';
import { badRequest, notFound } from '../faults.ts';
import { send, sendPage, sendStream, responds, withFinalUntil } from '../respond.ts';
import { RESPONSES } from '../format/shape.ts';
import { pathSchemas, pagedWindowQuery, parsePaging, optionalWindow, requiredWindow } from '../params.ts';
import { pageLinks } from '../paging.ts';
import { accountUsageView, billableLoadBalancerView } from '../views.ts';
import { recordPageWriter } from '../format/recordRows.ts';
import { recordRow } from '../../store/usageRecords.ts';
import { accountUsagePage } from '../../store/accountUsage.ts';
import { billableLoadBalancerIds, loadBalancerOwner, loadBalancerViews } from '../../store/loadBalancers.ts';
import { accountLoadBalancerUsages } from '../../query/billing.ts';
import { currentUsage } from '../../query/currentUsage.ts';
import { accountBillingText } from '../format/reportStream.ts';
import { DAY_MS } from '../../domain/time.ts';

type Q = { startTime?: string; endTime?: string; offset?: string; limit?: string };
type AccountParams = { accountId: string };
type LbParams = { accountId: string; loadBalancerId: string };

const recordPage = recordPageWriter(RESPONSES.loadBalancerUsage);

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
      summary: 'Account-level usage: account snapshots (paged) and each load balancer\'s records, streamed; default the last 24 hours, at most the retention period',
      params: accountParams, querystring: pagedWindowQuery(false), response: responds(RESPONSES.accountBilling),
    },
    handler: async (request, reply) => {
      const accountId = Number((request.params as AccountParams).accountId);
      const q = request.query as Q;
      const window = optionalWindow(q, api.now(), DAY_MS);
      const retentionMs = api.config.retentionDays * DAY_MS;
      if (window.endMs - window.startMs > retentionMs) {
        throw badRequest(`endTime: the window may span at most the retention period, ${api.config.retentionDays} days`, `received a window of ${((window.endMs - window.startMs) / DAY_MS).toFixed(2)} days`);
      }
      const paging = parsePaging(q);
      const page = await accountUsagePage(api.store.db, { ...window, accountId }, paging.offset, paging.limit);
      const usage = {
        accountUsageRecords: page.records.map((r) => accountUsageView(r, api.printer, false)),
        links: pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more),
      };
      await withFinalUntil(api, reply);
      return sendStream(request, reply, accountBillingText(accountId, usage, accountLoadBalancerUsages(api.store, accountId, window), request.format, api.printer));
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
      return sendPage(api, request, reply, window, RESPONSES.loadBalancerUsage, async () => {
        const page = await usageRecordPageFollowingLinks(api.store, api.pageBoundaries, { ...window, match: 'starts', loadBalancerId: lbId }, paging);
        return recordPage(request.format, page.rows, api.printer, pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more));
      });
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
      const [records] = await Promise.all([currentUsage(api.store.db, lbId, api.now()), withFinalUntil(api, reply)]);
      const page = records.slice(paging.offset, paging.offset + paging.limit).map(recordRow);
      const links = pageLinks(api.config.baseUrl, request.originalUrl, paging, records.length > paging.offset + paging.limit);
      return send(request, reply, RESPONSES.loadBalancerUsage, recordPage(request.format, page, api.printer, links));
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
