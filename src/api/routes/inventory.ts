// Clusters and hosts (SPEC 4): what the poller reads and where load balancers live.

import type { RouteModule } from './index.ts';
import { SUPPORT, WRITE } from '../auth.ts';
import { badRequest, notFound } from '../faults.ts';
import { pathSchemas } from '../params.ts';
import { hostView, statsSourceOf, StatsSourceRefused, type StatsInput } from '../../ingest/statsSources.ts';
import { DATA_CENTER_PATTERN, getCluster, getHost, listClusters, listHosts, NAME_MAX_LENGTH, putCluster, putHost, retireHost, type Host } from '../../store/inventory.ts';

const name = { type: 'string', minLength: 1, maxLength: NAME_MAX_LENGTH };
const clusterBody = {
  type: 'object', additionalProperties: false, required: ['name', 'dataCenter'],
  properties: { name, dataCenter: { type: 'string', pattern: DATA_CENTER_PATTERN, description: 'DFW, ORD, LON, SYD, IAD, HKG or any configured name' } },
};
const hostBody = {
  type: 'object', additionalProperties: false, required: ['clusterId', 'name'],
  properties: {
    clusterId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    name,
    stats: {
      type: 'object', additionalProperties: false, minProperties: 1,
      description: 'socket (a path), or url (the stats page) with, for a page behind `stats auth`, username and password (or user:password@ in the url); the password is never returned',
      properties: {
        socket: { type: 'string', minLength: 1, maxLength: 1024 }, url: { type: 'string', minLength: 1, maxLength: 2048 },
        username: { type: 'string', minLength: 1, maxLength: 256 }, password: { type: 'string', maxLength: 1024 },
      },
    },
  },
};
const clusterSchema = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, dataCenter: { type: 'string' } } };
const hostSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, clusterId: { type: 'integer' }, name: { type: 'string' },
    stats: { type: 'object', properties: { socket: { type: 'string' }, url: { type: 'string' }, username: { type: 'string' } } },
  },
};

/** The stats source a PUT gives, as stored; a refusal is a 400 naming the field. */
function statsOf(stats: StatsInput): Host['stats'] {
  try {
    return statsSourceOf(stats);
  } catch (err) {
    if (err instanceof StatsSourceRefused) throw badRequest(err.message);
    throw err;
  }
}
const clusterParams = { type: 'object', properties: { clusterId: pathSchemas.clusterId }, required: ['clusterId'] };
const hostParams = { type: 'object', properties: { hostId: pathSchemas.hostId }, required: ['hostId'] };

export const inventoryRoutes: RouteModule = (api) => [
  {
    method: 'GET', url: '/management/clusters', config: { access: SUPPORT, jsonOnly: true },
    schema: { summary: 'All clusters', response: { 200: { type: 'object', properties: { clusters: { type: 'array', items: clusterSchema } } } } },
    handler: async () => ({ clusters: await listClusters(api.store.db) }),
  },
  {
    method: 'PUT', url: '/management/clusters/:clusterId', config: { access: WRITE, jsonOnly: true },
    schema: { summary: 'Creates or replaces a cluster', params: clusterParams, body: clusterBody, response: { 200: clusterSchema } },
    handler: async (request) => {
      const id = Number((request.params as { clusterId: string }).clusterId);
      const body = request.body as { name: string; dataCenter: string };
      const cluster = { id, name: body.name, dataCenter: body.dataCenter };
      await putCluster(api.store.db, cluster);
      return cluster;
    },
  },
  {
    method: 'GET', url: '/management/hosts', config: { access: SUPPORT, jsonOnly: true },
    schema: { summary: 'All hosts not retired', response: { 200: { type: 'object', properties: { hosts: { type: 'array', items: hostSchema } } } } },
    handler: async () => ({ hosts: (await listHosts(api.store.db)).map(hostView) }),
  },
  {
    method: 'GET', url: '/management/hosts/:hostId', config: { access: SUPPORT, jsonOnly: true },
    schema: { summary: 'One host', params: hostParams, response: { 200: hostSchema } },
    handler: async (request) => {
      const id = Number((request.params as { hostId: string }).hostId);
      const host = await getHost(api.store.db, id);
      if (!host || host.retiredMs !== undefined) throw notFound(`host ${id} not found`);
      return hostView(host);
    },
  },
  {
    method: 'PUT', url: '/management/hosts/:hostId', config: { access: WRITE, jsonOnly: true },
    schema: { summary: 'Creates or replaces a host; without stats it is push-only', params: hostParams, body: hostBody, response: { 200: hostSchema } },
    handler: async (request) => {
      const id = Number((request.params as { hostId: string }).hostId);
      const body = request.body as { clusterId: number; name: string; stats?: StatsInput };
      if (!(await getCluster(api.store.db, body.clusterId))) throw badRequest(`clusterId: cluster ${body.clusterId} is not known; PUT /management/clusters/${body.clusterId} first`);
      const host: Host = { id, clusterId: body.clusterId, name: body.name, ...(body.stats ? { stats: statsOf(body.stats) } : {}) };
      await putHost(api.store.db, host);
      return hostView(host);
    },
  },
  {
    method: 'DELETE', url: '/management/hosts/:hostId', config: { access: WRITE },
    schema: { summary: 'Retires a host: it is no longer polled; its history stays', params: hostParams },
    handler: async (request, reply) => {
      const id = Number((request.params as { hostId: string }).hostId);
      if (!(await retireHost(api.store.db, id, api.now()))) throw notFound(`host ${id} not found`);
      return reply.code(204).send();
    },
  },
];
