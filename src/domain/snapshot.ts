// Account usage snapshots (SPEC 5, Account snapshots): how many load balancers and VIPs an
// account has at an instant.

import { stateAt, type TimelineStep } from './lifecycle.ts';
import type { EventType } from './types.ts';

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
