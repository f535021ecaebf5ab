// Checks the JSON schema cannot express for the write API: times, addresses, known clusters
// and hosts, account ownership. The first bad item is reported by index and field.

import { isIPv4, isIPv6 } from 'node:net';
import type { Db } from '../store/store.ts';
import { listClusters, getHost } from '../store/inventory.ts';
import { accountsOfLoadBalancers } from '../store/events.ts';
import { parseTime, HOUR_MS } from '../domain/time.ts';
import type { LifecycleEvent, LoadBalancerPatch } from '../domain/types.ts';
import type { HostSample, LoadBalancerReading } from '../ingest/samples.ts';
import { badRequest, shown } from './faults.ts';

const MAX_U64 = 2n ** 64n - 1n;
/** Data from further ahead than this is a clock or client bug, not usage. */
const FUTURE_TOLERANCE_MS = HOUR_MS;

export interface EventInput {
  id: string;
  type: LifecycleEvent['type'];
  time: string;
  accountId: number;
  loadBalancerId: number;
  loadBalancer?: LoadBalancerPatch;
}

function time(where: string, text: string, nowMs: number): number {
  const parsed = parseTime(text);
  if (!parsed.ok) throw badRequest(`${where}: ${parsed.reason}, received ${shown(text)}`);
  if (parsed.ms > nowMs + FUTURE_TOLERANCE_MS) throw badRequest(`${where}: lies more than an hour in the future, received ${shown(text)}`);
  return parsed.ms;
}

export async function validateEvents(db: Db, inputs: EventInput[], nowMs: number): Promise<LifecycleEvent[]> {
  const clusters = new Set((await listClusters(db)).map((c) => c.id));
  const owners = await accountsOfLoadBalancers(db, inputs.map((e) => e.loadBalancerId));
  return inputs.map((e, i) => {
    const at = `events[${i}]`;
    const timeMs = time(`${at}.time`, e.time, nowMs);
    const owner = owners.get(e.loadBalancerId);
    if (owner !== undefined && owner !== e.accountId) {
      throw badRequest(`${at}.accountId: load balancer ${e.loadBalancerId} belongs to another account, received ${e.accountId}`);
    }
    owners.set(e.loadBalancerId, e.accountId);
    const lb = e.loadBalancer;
    if (e.type === 'CREATE_LOADBALANCER') {
      for (const field of ['name', 'protocol', 'clusterId'] as const) {
        if (lb?.[field] === undefined) throw badRequest(`${at}.loadBalancer.${field}: required for CREATE_LOADBALANCER`);
      }
    }
    if ((e.type === 'CREATE_VIRTUAL_IP' || e.type === 'DELETE_VIRTUAL_IP') && !lb?.virtualIps) {
      throw badRequest(`${at}.loadBalancer.virtualIps: required for ${e.type}: the load balancer's VIPs after the event`);
    }
    if (lb?.clusterId !== undefined && !clusters.has(lb.clusterId)) {
      throw badRequest(`${at}.loadBalancer.clusterId: cluster ${lb.clusterId} is not known`);
    }
    lb?.virtualIps?.forEach((v, j) => {
      const vat = `${at}.loadBalancer.virtualIps[${j}]`;
      const valid = v.ipVersion === 'IPV4' ? isIPv4(v.address) : isIPv6(v.address);
      if (!valid) throw badRequest(`${vat}.address: expected an ${v.ipVersion === 'IPV4' ? 'IPv4' : 'IPv6'} address, received ${shown(v.address)}`);
      if (v.ipVersion === 'IPV6' && v.type !== 'PUBLIC') throw badRequest(`${vat}.type: IPv6 virtual IPs are always PUBLIC, received ${shown(v.type)}`);
    });
    const event: LifecycleEvent = { id: e.id, type: e.type, timeMs, accountId: e.accountId, loadBalancerId: e.loadBalancerId };
    if (lb) event.loadBalancer = lb;
    return event;
  });
}

type Counter = number | string;
export interface SampleInput {
  hostId: number;
  time: string;
  process: { pid: number; startTime: string };
  loadBalancers: {
    accountId: number; loadBalancerId: number;
    bytesIn: Counter; bytesOut: Counter; bytesInSsl: Counter; bytesOutSsl: Counter;
    connections: number; connectionsSsl: number;
  }[];
}

export async function validateSample(db: Db, input: SampleInput, nowMs: number): Promise<HostSample> {
  const host = await getHost(db, input.hostId);
  if (!host || host.retiredMs !== undefined) throw badRequest(`hostId: host ${input.hostId} is not known; PUT /management/hosts/${input.hostId} first`);
  const timeMs = time('time', input.time, nowMs);
  const startMs = time('process.startTime', input.process.startTime, nowMs);
  if (startMs > timeMs) throw badRequest('process.startTime: must not be after time');
  const owners = await accountsOfLoadBalancers(db, input.loadBalancers.map((r) => r.loadBalancerId));
  const seen = new Set<number>();
  const readings: LoadBalancerReading[] = input.loadBalancers.map((r, i) => {
    const at = `loadBalancers[${i}]`;
    if (seen.has(r.loadBalancerId)) throw badRequest(`${at}.loadBalancerId: load balancer ${r.loadBalancerId} appears twice in one sample`);
    seen.add(r.loadBalancerId);
    const owner = owners.get(r.loadBalancerId);
    if (owner !== undefined && owner !== r.accountId) throw badRequest(`${at}.accountId: load balancer ${r.loadBalancerId} belongs to another account, received ${r.accountId}`);
    return {
      accountId: r.accountId, loadBalancerId: r.loadBalancerId,
      bytesIn: counter(`${at}.bytesIn`, r.bytesIn), bytesOut: counter(`${at}.bytesOut`, r.bytesOut),
      bytesInSsl: counter(`${at}.bytesInSsl`, r.bytesInSsl), bytesOutSsl: counter(`${at}.bytesOutSsl`, r.bytesOutSsl),
      connections: r.connections, connectionsSsl: r.connectionsSsl,
    };
  });
  return { hostId: input.hostId, timeMs, process: { pid: input.process.pid, startMs }, loadBalancers: readings };
}

function counter(where: string, value: Counter): bigint {
  const v = BigInt(value);
  if (v > MAX_U64) throw badRequest(`${where}: above the 64-bit counter range, received ${shown(String(value))}`);
  return v;
}
