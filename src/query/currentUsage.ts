// `/usage/current` (SPEC 3.9): one load balancer's last 24 hours, stored records first, then a
// provisional record for each hour not rolled up yet, derived from its readings so far. Every
// query is filtered to the one load balancer: its cost is its own data, whatever the fleet.

import type { Db } from '../store/store.ts';
import { usageRecordsIn, draftToRecord, type UsageRecord } from '../store/usageRecords.ts';
import { lastRolledHour } from '../store/hours.ts';
import { rollHour } from '../usage/hourRollup.ts';
import { DAY_MS, floorHour, HOUR_MS } from '../domain/time.ts';

/** Records of the hour in progress have no id yet. */
export type CurrentRecord = Omit<UsageRecord, 'id'> & { id?: number };

export async function currentUsage(db: Db, lbId: number, nowMs: number): Promise<CurrentRecord[]> {
  const window = { startMs: nowMs - DAY_MS, endMs: nowMs };
  // Two queries of their own, at once: a tenant waits for the slower, not for both.
  const [stored, rolled] = await Promise.all([usageRecordsIn(db, { ...window, match: 'starts', loadBalancerId: lbId }), lastRolledHour(db)]);
  const firstOpen = Math.max(floorHour(window.startMs), rolled === undefined ? -Infinity : rolled + HOUR_MS);
  const provisional: CurrentRecord[] = [];
  for (let hour = firstOpen; hour <= nowMs; hour += HOUR_MS) {
    const { drafts } = await rollHour(db, hour, Math.min(hour + HOUR_MS, nowMs), { loadBalancerIds: [lbId] });
    for (const d of drafts) {
      if (d.startMs < window.startMs) continue;
      const { id: _none, ...record } = draftToRecord(d, 0);
      provisional.push(record);
    }
  }
  return [...stored.filter((r) => rolled === undefined || r.startMs < firstOpen), ...provisional];
}
