// Management usage reports across accounts: SPEC 3.4 to 3.6.

import type { RouteModule } from './index.ts';
import { usageRecordPageFollowingLinks } from '../pageBoundaries.ts';
import { READ_ALL } from '../auth.ts';
import { send, responds, isClosedWindow } from '../respond.ts';
import { RESPONSES } from '../format/shape.ts';
import { pagedWindowQuery, parsePaging, requiredWindow, windowQuery } from '../params.ts';
import { pageLinks } from '../paging.ts';
import { accountUsageView, usageRecordView } from '../views.ts';
import { accountUsageIn, accountUsagePage } from '../../store/accountUsage.ts';
import { usageRecordsIn } from '../../store/usageRecords.ts';
import { loadBalancerUsages } from './publicUsage.ts';
import { DAY_MS } from '../../domain/time.ts';

type Q = { startTime?: string; endTime?: string; offset?: string; limit?: string };

export const managementUsageRoutes: RouteModule = (api) => [
  {
    method: 'GET',
    url: '/management/accounts/billing',
    config: { access: READ_ALL },
    schema: {
      summary: 'Usage of every account for at most one day: account snapshots and load balancer records inside the window',
      querystring: windowQuery(true), response: responds(RESPONSES.accountBillings),
    },
    handler: async (request, reply) => {
      const window = requiredWindow(request.query as Q, DAY_MS);
      const snapshots = await accountUsageIn(api.store.db, window);
      const records = await usageRecordsIn(api.store.db, { ...window, match: 'inside' });
      const accounts = [...new Set([...snapshots.map((s) => s.accountId), ...records.map((r) => r.accountId)])].sort((a, b) => a - b);
      const billings = [];
      for (const accountId of accounts) {
        billings.push({
          accountId,
          accountUsage: {
            accountUsageRecords: snapshots.filter((s) => s.accountId === accountId).map((s) => accountUsageView(s, api.printer, false)),
            links: [],
          },
          loadBalancerUsages: await loadBalancerUsages(api, records.filter((r) => r.accountId === accountId)),
        });
      }
      return send(request, reply, RESPONSES.accountBillings, { accountBillings: billings }, { closedWindow: isClosedWindow(window, api.now(), api.config.graceMs) });
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
      const page = await accountUsagePage(api.store.db, window, paging.offset, paging.limit);
      return send(request, reply, RESPONSES.accountUsageRecords, {
        accountUsageRecords: page.records.map((r) => accountUsageView(r, api.printer, true)),
        links: pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more),
      }, { closedWindow: isClosedWindow(window, api.now(), api.config.graceMs) });
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
      const page = await usageRecordPageFollowingLinks(api.store.db, api.pageBoundaries, { ...window, match: 'inside' }, paging);
      return send(request, reply, RESPONSES.loadBalancerUsageRecords, {
        loadBalancerUsageRecords: page.records.map((r) => usageRecordView(r, api.printer, true)),
        links: pageLinks(api.config.baseUrl, request.originalUrl, paging, page.more),
      }, { closedWindow: isClosedWindow(window, api.now(), api.config.graceMs) });
    },
  },
];
