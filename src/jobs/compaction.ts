// Readings compaction (store/compaction.ts): the days whose hours have all been final for the
// configured window, one day at a time, by one process at a time. Records do not change, so
// cached pages stay valid.

import type { Store } from '../store/store.ts';
import { compactDay, daysToCompact, type CompactedDay } from '../store/compaction.ts';
import { underLease } from './leases.ts';

export interface CompactionResult {
  days: CompactedDay[];
  busy?: boolean;
}

const COMPACTION_LEASE = 'compaction';
const COMPACTION_LEASE_MS = 30 * 60_000;

export async function compactReadings(store: Store, readingsDays: number, options: { waitMs?: number; nowMs?: number } = {}): Promise<CompactionResult> {
  const compacted = await underLease(store.db, { name: COMPACTION_LEASE, ttlMs: COMPACTION_LEASE_MS, waitMs: options.waitMs }, async () => {
    const days: CompactedDay[] = [];
    for (const day of await daysToCompact(store.db, readingsDays)) {
      const done = await compactDay(store.db, day, options.nowMs);
      if (done) days.push(done);
    }
    return { days };
  });
  return compacted ?? { days: [], busy: true };
}
