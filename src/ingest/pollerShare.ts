// Several pollers on one store split the hosts (DESIGN, Scale). Each poller keeps a member
// lease alive; every cycle it polls its share: the hosts in id order dealt to the live members
// in name order, so shares differ by one host at most. When a member stops or dies its lease
// ends and its hosts are dealt to the others at their next cycle; while members disagree for a
// moment, the per-host read lease keeps two pollers from reading one host at once.

import type { Db } from '../store/store.ts';
import { acquireLease, liveHolders, releaseLease } from '../store/leases.ts';

const MEMBER_PREFIX = 'poller-member:';

export async function keepMembership(db: Db, holder: string, ttlMs: number): Promise<void> {
  await acquireLease(db, MEMBER_PREFIX + holder, holder, ttlMs);
}

export async function leaveMembership(db: Db, holder: string): Promise<void> {
  await releaseLease(db, MEMBER_PREFIX + holder, holder);
}

export async function livePollers(db: Db): Promise<string[]> {
  return liveHolders(db, MEMBER_PREFIX);
}

/** The hosts of `me` among `members`: host i (in id order) to member i mod n (in name order). */
export function shareOf(hostIds: number[], members: string[], me: string): number[] {
  const all = [...new Set([...members, me])].sort();
  const mine = all.indexOf(me);
  return [...hostIds].sort((a, b) => a - b).filter((_, i) => i % all.length === mine);
}
