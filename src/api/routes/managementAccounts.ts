// Management views of clusters and accounts: SPEC 3.1 to 3.3.

import type { RouteModule } from './index.ts';
import { SUPPORT } from '../auth.ts';
import { notFound } from '../faults.ts';
import { send, responds } from '../respond.ts';
import { RESPONSES } from '../format/shape.ts';
import { pathSchemas } from '../params.ts';
import { accountLoadBalancerView, virtualIpView } from '../views.ts';
import { customerCount, loadBalancerViews } from '../../store/loadBalancers.ts';
import { getCluster } from '../../store/inventory.ts';

const accountParams = { type: 'object', properties: { accountId: pathSchemas.accountId }, required: ['accountId'] };

export const managementAccountRoutes: RouteModule = (api) => [
  {
    method: 'GET',
    url: '/management/clusters/:clusterId/customercount',
    config: { access: SUPPORT },
    schema: {
      summary: 'Per account, its non-deleted load balancers in the cluster; any request body is ignored',
      params: { type: 'object', properties: { clusterId: pathSchemas.clusterId }, required: ['clusterId'] },
      response: responds(RESPONSES.accountsInCluster),
    },
    handler: async (request, reply) => {
      const clusterId = Number((request.params as { clusterId: string }).clusterId);
      if (!(await getCluster(api.store.db, clusterId))) throw notFound(`cluster ${clusterId} not found`);
      const counts = await customerCount(api.store.db, clusterId);
      return send(request, reply, RESPONSES.accountsInCluster, {
        totalAccounts: counts.length,
        accountInCluster: counts.map((c) => ({ accountId: c.accountId, clusterId, loadBalancerCount: c.count })),
      });
    },
  },
  {
    method: 'GET',
    url: '/management/accounts/:accountId/loadbalancers',
    config: { access: SUPPORT },
    schema: {
      summary: 'All load balancers of the account, deleted ones included, ascending id',
      params: accountParams, response: responds(RESPONSES.accountLoadBalancers),
    },
    handler: async (request, reply) => {
      const accountId = Number((request.params as { accountId: string }).accountId);
      const lbs = await loadBalancerViews(api.store.db, { accountId });
      return send(request, reply, RESPONSES.accountLoadBalancers, { accountId, accountLoadBalancers: lbs.map(accountLoadBalancerView) });
    },
  },
  {
    method: 'GET',
    url: '/management/accounts/:accountId/extendedloadbalancers',
    config: { access: SUPPORT },
    schema: {
      summary: 'As loadbalancers, with region and virtual IPs (IPv4 first, then IPv6, ascending id)',
      params: accountParams, response: responds(RESPONSES.extendedAccountLoadbalancers),
    },
    handler: async (request, reply) => {
      const accountId = Number((request.params as { accountId: string }).accountId);
      const lbs = await loadBalancerViews(api.store.db, { accountId });
      return send(request, reply, RESPONSES.extendedAccountLoadbalancers, {
        accountId,
        extendedAccountLoadbalancers: lbs.map((lb) => ({ ...accountLoadBalancerView(lb), region: lb.region, virtualIps: lb.virtualIps.map(virtualIpView) })),
      });
    },
  },
];
