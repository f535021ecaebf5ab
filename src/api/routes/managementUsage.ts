// Management usage reports across accounts: SPEC 3.4 to 3.6.

import type { RouteModule } from './index.ts';
import { usageRecordPageFollowingLinks } from '../pageBoundaries.ts';
import { READ_ALL } from '../auth.ts';
import { sendPage, sendStream, responds, withFinalUntil } from '../respond.ts';
import { RESPONSES } from '../format/shape.ts';
import { pagedWindowQuery, parsePaging, requiredWindow, windowQuery } from '../params.ts';
import { pageLinks } from '../paging.ts';
import { accountUsageView } from '../views.ts';
import { recordPageWriter } from '../format/recordRows.ts';
import { accountUsagePage } from '../../store/accountUsage.ts';
import { billingDay } from '../../query/billing.ts';
import { accountBillingsText } from '../format/reportStream.ts';
import { DAY_MS } from '../../domain/time.ts';

type Q = { startTime?: string; endTime?: string; offset?: string; limit?: string };

const managementRecordPage = recordPageWriter(RESPONSES.loadBalancerUsageRecords);

export const managementUsageRoutes: RouteModule = (api) => [
  {
    method: 'GET',
    url: '/management/accounts/billing',
    config: { access: READ_ALL },
    schema: {
      summary: 'Usage of every account for at most one day: account snapshots and load balancer records inside the window; streamed as it is read, by account and load balancer',
      querystring: windowQuery(true), response: responds(RESPONSES.accountBillings),
    },
    handler: async (request, reply) => {
      const window = requiredWindow(request.query as Q, DAY_MS);
      await withFinalUntil(api, reply);
      return sendStream(request, reply, accountBillingsText(billingDay(api.store, window), request.format, api.printer));
    },
  },
  {
    method: 'GET',
    url: '/management/accounts/usage',
    config: { access: READ_ALL },
    schema: {
      summary: 'Account snapshots of all accounts with startTime in the window, by account, time and id; paged',
      querystring: pagedWindowQuery(true), response: responds(RESPONSES.accountUsageRecords),
    },
    handler: async (request, reply) => {
      const q = request.query as Q;
      const window = requiredWindow(q);
      const paging = parsePaging(q);
      return sendPage(api, request, reply, window, RESPONSES.accountUsageRecords, async () => {
        const page = await accountUsagePage(api.store.db, window, paging.offset, paging.limit);
        return {
          accountUsageRecords: page.records.map((r) => accountUsageView(r, api.printer, true)),
          links: pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more),
        };
      });
    },
  },
  {
    method: 'GET',
    url: '/management/loadbalancers/usage',
    config: { access: READ_ALL },
    schema: {
      summary: 'Usage records of all load balancers lying inside the window, by account, load balancer, start and id; paged',
      querystring: pagedWindowQuery(true), response: responds(RESPONSES.loadBalancerUsageRecords),
    },
    handler: async (request, reply) => {
      const q = request.query as Q;
      const window = requiredWindow(q);
      const paging = parsePaging(q);
      return sendPage(api, request, reply, window, RESPONSES.loadBalancerUsageRecords, async () => {
        const page = await usageRecordPageFollowingLinks(api.store, api.pageBoundaries, { ...window, match: 'inside' }, paging);
        return managementRecordPage(request.format, page.rows, api.printer, pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more));
      });
    },
  },
];
