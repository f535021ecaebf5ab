// Builds situations through the write API, as a provisioning system and an agent would.

import assert from 'node:assert/strict';
import type { TestApi } from './api.ts';

let eventSeq = 0;

export async function ok(res: Response | Promise<Response>, status = 200): Promise<any> {
  const r = await res;
  const text = await r.text();
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

export async function cluster(api: TestApi, id: number, name = `C${id}`, dataCenter = 'ORD') {
  return ok(api.send('PUT', `/management/clusters/${id}`, { name, dataCenter }));
}

export async function host(api: TestApi, id: number, clusterId: number, stats?: { socket: string } | { url: string }) {
  return ok(api.send('PUT', `/management/hosts/${id}`, { clusterId, name: `lb-${id}`, ...(stats ? { stats } : {}) }));
}

export interface EventSpec {
  id?: string;
  type: string;
  time: string | number;
  accountId: number;
  loadBalancerId: number;
  loadBalancer?: Record<string, unknown>;
}

export const iso = (t: string | number) => (typeof t === 'number' ? new Date(t).toISOString() : t);

export async function events(api: TestApi, list: EventSpec[]) {
  return ok(api.send('POST', '/management/usage/events', {
    events: list.map((e) => ({ ...e, id: e.id ?? `t-${++eventSeq}-${process.pid}`, time: iso(e.time) })),
  }));
}

export function vip(id: number, address: string, type: 'PUBLIC' | 'SERVICENET' = 'PUBLIC') {
  return { id, address, ipVersion: address.includes(':') ? 'IPV6' : 'IPV4', type };
}

export async function createLb(api: TestApi, o: { accountId: number; id: number; time: string | number; clusterId?: number; name?: string; status?: string; vips?: ReturnType<typeof vip>[]; sslMode?: string }) {
  return events(api, [{
    type: 'CREATE_LOADBALANCER', time: o.time, accountId: o.accountId, loadBalancerId: o.id,
    loadBalancer: {
      name: o.name ?? `lb-${o.id}`, protocol: 'HTTP', clusterId: o.clusterId ?? 1, status: o.status ?? 'ACTIVE',
      sslMode: o.sslMode ?? 'OFF', virtualIps: o.vips ?? [vip(o.id, `10.0.${(o.id >> 8) & 255}.${o.id & 255}`)],
    },
  }]);
}

export interface Reading {
  accountId: number;
  loadBalancerId: number;
  bytesIn?: number | string;
  bytesOut?: number | string;
  bytesInSsl?: number | string;
  bytesOutSsl?: number | string;
  connections?: number;
  connectionsSsl?: number;
}

export async function sample(api: TestApi, hostId: number, time: string | number, readings: Reading[], proc = { pid: 100, startTime: '2000-01-01T00:00:00Z' }) {
  return ok(api.send('POST', '/management/usage/samples', {
    hostId, time: iso(time), process: proc,
    loadBalancers: readings.map((r) => ({ bytesIn: 0, bytesOut: 0, bytesInSsl: 0, bytesOutSsl: 0, connections: 0, connectionsSsl: 0, ...r })),
  }));
}

export async function rollup(api: TestApi) {
  return ok(api.send('POST', '/management/usage/rollup', {}));
}
