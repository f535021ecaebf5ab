// Several pollers on one store split the hosts (DESIGN, Scale). Each poller keeps a member
// lease alive; every cycle it polls the hosts that rendezvous hashing over the live members
// gives it. When a member stops or dies its lease ends and its hosts fall to the others at
// their next cycle; while members disagree for a moment, the per-host read lease keeps two
// pollers from reading one host at once.

import { createHash } from 'node:crypto';
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

/** The hosts of `me` among `members`: each host goes to the member with the highest score. */
export function shareOf(hostIds: number[], members: string[], me: string): number[] {
  const all = members.includes(me) ? members : [...members, me];
  return hostIds.filter((hostId) => {
    let best = '';
    let bestScore = '';
    for (const member of all) {
      const score = createHash('sha1').update(`${member}\n${hostId}`).digest('hex');
      if (score > bestScore) [best, bestScore] = [member, score];
    }
    return best === me;
  });
}
