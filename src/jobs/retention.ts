// Retention (SPEC 5): usage older than the retention period goes, except a usage record not yet
// exported, and the samples behind it (they are its audit trail). One process at a time. On
// PostgreSQL a whole day goes by dropping its partition.

import type { Store } from '../store/store.ts';
import { purgeUsageRecordsBefore, oldestUnexportedStart } from '../store/usageRecords.ts';
import { purgeAccountUsageBefore } from '../store/accountUsage.ts';
import { purgeReadingsBefore } from '../store/readings.ts';
import { dropDayPartitionsBefore } from '../store/partitions.ts';
import { advanceRevision } from '../store/revision.ts';
import { underLease } from './leases.ts';

export interface PurgeResult {
  records: number;
  snapshots: number;
  samples: number;
  busy?: boolean;
}

const RETENTION_LEASE = 'retention';

export async function purgeExpired(store: Store, cutoffMs: number, options: { waitMs?: number } = {}): Promise<PurgeResult> {
  const purged = await underLease(store.db, { name: RETENTION_LEASE, ttlMs: 10 * 60_000, waitMs: options.waitMs }, async () => {
    // Whole days first (PostgreSQL drops their partitions), then the rows of partial days.
    const keepSamplesFrom = Math.min(cutoffMs, (await oldestUnexportedStart(store.db)) ?? Infinity);
    const droppedRecords = await dropDayPartitionsBefore(store.db, 'usage_records', cutoffMs, 'exported_ms is null');
    const droppedSamples = await dropDayPartitionsBefore(store.db, 'usage_samples', keepSamplesFrom);
    return store.transaction(async (trx) => {
      const records = droppedRecords + (await purgeUsageRecordsBefore(trx, cutoffMs));
      const snapshots = await purgeAccountUsageBefore(trx, cutoffMs);
      // Samples are kept from the oldest unexported record on (its hour's samples made it).
      const keepFrom = await oldestUnexportedStart(trx);
      const samples = droppedSamples + (await purgeReadingsBefore(trx, Math.min(cutoffMs, keepFrom ?? Infinity)));
      // Windows of past hours answer differently now: cached answers about them are outdated.
      if (records + snapshots > 0) await advanceRevision(trx);
      return { records, snapshots, samples };
    });
  });
  return purged ?? { records: 0, snapshots: 0, samples: 0, busy: true };
}
