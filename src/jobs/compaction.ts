// Readings compaction (store/compaction.ts): the days whose hours have all been final for the
// configured window, one day at a time, by one process at a time. Records do not change, so
// cached pages stay valid.

import type { Store } from '../store/store.ts';
import { compactDay, daysToCompact, type CompactedDay } from '../store/compaction.ts';
import { releaseLease } from '../store/leases.ts';
import { PROCESS_HOLDER, waitForLease } from './leases.ts';

export interface CompactionResult {
  days: CompactedDay[];
  busy?: boolean;
}

const COMPACTION_LEASE = 'compaction';
const COMPACTION_LEASE_MS = 30 * 60_000;

export async function compactReadings(store: Store, readingsDays: number, options: { waitMs?: number; nowMs?: number } = {}): Promise<CompactionResult> {
  if ((await waitForLease(store.db, COMPACTION_LEASE, PROCESS_HOLDER, COMPACTION_LEASE_MS, options.waitMs ?? 0)) === undefined) return { days: [], busy: true };
  try {
    const days: CompactedDay[] = [];
    for (const day of await daysToCompact(store.db, readingsDays)) {
      const done = await compactDay(store.db, day, options.nowMs);
      if (done) days.push(done);
    }
    return { days };
  } finally {
    await releaseLease(store.db, COMPACTION_LEASE, PROCESS_HOLDER).catch(() => {});
  }
}
