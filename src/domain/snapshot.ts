// Account usage snapshots (SPEC 5, Account snapshots): how many load balancers and VIPs an
// account has at an instant.

import { stateAt, type TimelineStep } from './lifecycle.ts';
import type { EventType } from './types.ts';
import { DAY_MS } from './time.ts';

export interface AccountCounts {
  numLoadBalancers: number;
  numPublicVips: number;
  numServicenetVips: number;
}

/** Events after which an account snapshot is taken. */
export const SNAPSHOT_EVENTS: ReadonlySet<EventType> = new Set([
  'CREATE_LOADBALANCER',
  'DELETE_LOADBALANCER',
  'CREATE_VIRTUAL_IP',
  'DELETE_VIRTUAL_IP',
]);

/**
 * Counts at instant ms over the timelines of every load balancer of one account: non-deleted
 * load balancers, and distinct IPv4 VIP addresses of each type among them.
 */
export function countAccountAt(timelines: TimelineStep[][], ms: number): AccountCounts {
  let numLoadBalancers = 0;
  const publicVips = new Set<string>();
  const servicenetVips = new Set<string>();
  for (const steps of timelines) {
    const state = stateAt(steps, ms);
    if (!state || state.deletedMs !== undefined) continue;
    numLoadBalancers++;
    for (const vip of state.virtualIps) {
      if (vip.ipVersion !== 'IPV4') continue;
      (vip.type === 'PUBLIC' ? publicVips : servicenetVips).add(vip.address);
    }
  }
  return { numLoadBalancers, numPublicVips: publicVips.size, numServicenetVips: servicenetVips.size };
}

export type SnapshotSource = 'EVENT' | 'DAILY';

export interface AccountSnapshot {
  timeMs: number;
  source: SnapshotSource;
  counts: AccountCounts;
}

/**
 * Every snapshot of one account from fromMs on (SPEC 5, Account snapshots), as a function of its
 * load balancers' histories: one after each creation or deletion of a load balancer or VIP, and
 * one at each midnight UTC up to dailyUntilMs (the days the rollup has passed) while it has a
 * live load balancer. Whatever order the events came in, the same history gives the same list.
 */
export function accountSnapshotsFrom(timelines: TimelineStep[][], fromMs: number, dailyUntilMs: number): AccountSnapshot[] {
  const eventTimes = new Set<number>();
  for (const steps of timelines) {
    for (const { event } of steps) if (event.timeMs >= fromMs && SNAPSHOT_EVENTS.has(event.type)) eventTimes.add(event.timeMs);
  }
  const out: AccountSnapshot[] = [...eventTimes].sort((a, b) => a - b).map((timeMs) => ({ timeMs, source: 'EVENT', counts: countAccountAt(timelines, timeMs) }));
  for (let day = Math.ceil(fromMs / DAY_MS) * DAY_MS; day <= dailyUntilMs; day += DAY_MS) {
    const counts = countAccountAt(timelines, day);
    if (counts.numLoadBalancers > 0) out.push({ timeMs: day, source: 'DAILY', counts });
  }
  return out;
}
