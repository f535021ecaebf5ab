// A poller's clock against the store's (SPEC 5, Order of readings). Readings are placed by their
// counters, so a skewed clock cannot bill a byte twice; but it still stamps readings into the
// wrong hour, so a poller more than a second off refuses to poll until its clock is fixed, and
// says so (its poll reports, the log, lbmeter_clock_skew_seconds and its alert).

import type { Db } from '../store/store.ts';
import { storeClockMs } from '../store/dialect/index.ts';

/** How far a poller's clock may be from the store's. */
export const MAX_CLOCK_SKEW_MS = 1_000;

export interface ClockSkew {
  /** This process's clock minus the store's: negative when this clock is behind. */
  skewMs: number;
  /** Half the round trip: the skew is known to within this. */
  uncertaintyMs: number;
}

export async function measureClockSkew(db: Db, now: () => number = Date.now): Promise<ClockSkew> {
  const sent = now();
  const store = await storeClockMs(db);
  const answered = now();
  return { skewMs: Math.round((sent + answered) / 2 - store), uncertaintyMs: Math.ceil((answered - sent) / 2) };
}

/** Why this process may not poll now, or undefined: its clock is close enough to the store's. */
export function skewRefusal({ skewMs, uncertaintyMs }: ClockSkew): string | undefined {
  if (Math.abs(skewMs) - uncertaintyMs <= MAX_CLOCK_SKEW_MS) return undefined;
  const by = `${(Math.abs(skewMs) / 1000).toFixed(1)} s ${skewMs < 0 ? 'behind' : 'ahead of'}`;
  return `not polled: this machine's clock is ${by} the store's (at most ${MAX_CLOCK_SKEW_MS / 1000} s allowed); fix its time sync (NTP)`;
}
