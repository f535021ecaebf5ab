// Retention (SPEC 5): usage older than the retention period goes. With a billing sink, a usage
// record not yet exported stays, and the samples behind it (its audit trail); with none (billing
// pulls through the API), records go by age alone. What a held anomaly needs stays until an
// operator decides it. One process at a time. Where the store
// partitions by day, a whole day goes by dropping its partition.

import type { Store } from '../store/store.ts';
import { purgeUsageRecordsBefore, oldestUnexportedStart } from '../store/usageRecords.ts';
import { purgeAccountUsageBefore } from '../store/accountUsage.ts';
import { purgeReadingsBefore } from '../store/readings.ts';
import { purgeOfferedRevisionsBefore } from '../store/exports.ts';
import { dropDayPartitionsBefore } from '../store/partitions.ts';
import { advanceRevision } from '../store/revision.ts';
import { underLease } from './leases.ts';
import { oldestHeldAnomalyTime } from '../store/anomalies.ts';
import { DAY_MS, floorHour } from '../domain/time.ts';

export interface PurgeResult {
  records: number;
  snapshots: number;
  samples: number;
  busy?: boolean;
}

const RETENTION_LEASE = 'retention';

/** What retention does with this configuration, in words (serve's start, lbmeter purge). */
export function retentionRule(retentionDays: number, exportSink: boolean): string {
  return exportSink
    ? `usage older than ${retentionDays} days is purged once exported to the billing sink; an unexported record is kept`
    : `usage older than ${retentionDays} days is purged, exported or not: no billing sink is configured (LBMETER_EXPORT_URL)`;
}

export interface PurgeOptions {
  waitMs?: number;
  /** A billing sink is configured: records wait for their export (default true, the safe side). */
  exportSink?: boolean;
}

/**
 * A held anomaly keeps what its release needs (SPEC 5, Containment): the records of its hour and
 * every later one (a released event re-rolls them all), and the readings from a day before it on
 * (its host's chain: the readings before and after it).
 */
const HELD_CHAIN_MS = DAY_MS;

export async function purgeExpired(store: Store, cutoffMs: number, options: PurgeOptions = {}): Promise<PurgeResult> {
  const keepUnexported = options.exportSink ?? true;
  const oldestKept = (db: Store['db']) => (keepUnexported ? oldestUnexportedStart(db) : Promise.resolve(undefined));
  const purged = await underLease(store.db, { name: RETENTION_LEASE, ttlMs: 10 * 60_000, waitMs: options.waitMs }, async () => {
    const held = await oldestHeldAnomalyTime(store.db);
    const recordsBefore = Math.min(cutoffMs, held === undefined ? Infinity : floorHour(held));
    const samplesBefore = (keptFrom: number | undefined) => Math.min(recordsBefore, keptFrom ?? Infinity, held === undefined ? Infinity : held - HELD_CHAIN_MS);
    // Whole days first (PostgreSQL drops their partitions), then the rows of partial days.
    const droppedRecords = await dropDayPartitionsBefore(store.db, 'usage_records', recordsBefore, keepUnexported ? 'exported_ms is null' : undefined);
    const droppedSamples = await dropDayPartitionsBefore(store.db, 'usage_samples', samplesBefore(await oldestKept(store.db)));
    return store.transaction(async (trx) => {
      const records = droppedRecords + (await purgeUsageRecordsBefore(trx, recordsBefore, keepUnexported));
      if (records > 0) await purgeOfferedRevisionsBefore(trx, recordsBefore);
      const snapshots = await purgeAccountUsageBefore(trx, cutoffMs);
      // Samples are kept from the oldest record kept for export on (its hour's samples made it).
      const samples = droppedSamples + (await purgeReadingsBefore(trx, samplesBefore(await oldestKept(trx))));
      // Windows of past hours answer differently now: cached answers about them are outdated.
      if (records + snapshots > 0) await advanceRevision(trx);
      return { records, snapshots, samples };
    });
  });
  return purged ?? { records: 0, snapshots: 0, samples: 0, busy: true };
}
