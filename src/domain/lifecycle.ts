// Replaying lifecycle events into load balancer states. Events are ordered by (time, type
// order, id), never by arrival, so late and out-of-order events give the same history.

import { EVENT_TYPES, type EventType, type LifecycleEvent, type LoadBalancerState, type SslMode, type LbStatus } from './types.ts';

const TYPE_ORDER = new Map<EventType, number>(EVENT_TYPES.map((t, i) => [t, i]));

export function compareEvents(a: LifecycleEvent, b: LifecycleEvent): number {
  return a.timeMs - b.timeMs || TYPE_ORDER.get(a.type)! - TYPE_ORDER.get(b.type)! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const SSL_BY_EVENT: Partial<Record<EventType, SslMode>> = { SSL_ONLY_ON: 'ON', SSL_MIXED_ON: 'MIXED', SSL_OFF: 'OFF' };
const STATUS_BY_EVENT: Partial<Record<EventType, LbStatus>> = {
  DELETE_LOADBALANCER: 'DELETED',
  SUSPEND_LOADBALANCER: 'SUSPENDED',
  SUSPENDED_LOADBALANCER: 'SUSPENDED',
  UNSUSPEND_LOADBALANCER: 'ACTIVE',
};

/** The state after one event; undefined when the event cannot apply (no CREATE seen yet). */
export function applyEvent(before: LoadBalancerState | undefined, e: LifecycleEvent): LoadBalancerState | undefined {
  const p = e.loadBalancer ?? {};
  if (!before) {
    if (e.type !== 'CREATE_LOADBALANCER') return undefined;
    return {
      id: e.loadBalancerId,
      accountId: e.accountId,
      name: p.name ?? '',
      protocol: p.protocol ?? 'HTTP',
      clusterId: p.clusterId ?? 0,
      status: p.status ?? 'ACTIVE',
      sslMode: p.sslMode ?? 'OFF',
      virtualIps: sortVips(p.virtualIps ?? []),
      createdMs: e.timeMs,
      updatedMs: e.timeMs,
    };
  }
  if (before.deletedMs !== undefined) return before; // nothing follows a deletion
  const next: LoadBalancerState = {
    ...before,
    name: p.name ?? before.name,
    protocol: p.protocol ?? before.protocol,
    clusterId: p.clusterId ?? before.clusterId,
    status: STATUS_BY_EVENT[e.type] ?? p.status ?? before.status,
    sslMode: SSL_BY_EVENT[e.type] ?? p.sslMode ?? before.sslMode,
    virtualIps: p.virtualIps ? sortVips(p.virtualIps) : before.virtualIps,
    updatedMs: e.timeMs,
  };
  if (e.type === 'DELETE_LOADBALANCER') next.deletedMs = e.timeMs;
  return next;
}

/** IPv4 first, then IPv6, ascending id (SPEC 3.3). */
export function sortVips<T extends { ipVersion: string; id: number }>(vips: T[]): T[] {
  return [...vips].sort((a, b) => (a.ipVersion === b.ipVersion ? a.id - b.id : a.ipVersion === 'IPV4' ? -1 : 1));
}

export interface TimelineStep {
  event: LifecycleEvent;
  state: LoadBalancerState;
}

/** The history of one load balancer: each applied event with the state after it. */
export function timeline(events: LifecycleEvent[]): TimelineStep[] {
  const steps: TimelineStep[] = [];
  let state: LoadBalancerState | undefined;
  for (const event of [...events].sort(compareEvents)) {
    const next = applyEvent(state, event);
    if (!next || next === state) continue;
    state = next;
    steps.push({ event, state });
  }
  return steps;
}

export function finalState(events: LifecycleEvent[]): LoadBalancerState | undefined {
  const steps = timeline(events);
  return steps.length ? steps[steps.length - 1].state : undefined;
}

export function stateAt(steps: TimelineStep[], ms: number): LoadBalancerState | undefined {
  let state: LoadBalancerState | undefined;
  for (const s of steps) {
    if (s.event.timeMs > ms) break;
    state = s.state;
  }
  return state;
}

/** The vipType of a usage record (SPEC 5, Record attributes): PUBLIC when any VIP is public. */
export function vipTypeOf(state: LoadBalancerState): 'PUBLIC' | 'SERVICENET' {
  return state.virtualIps.some((v) => v.type === 'PUBLIC') ? 'PUBLIC' : 'SERVICENET';
}
