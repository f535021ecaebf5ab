// The export job (SPEC 5, Export): offers final usage records to the billing sink, oldest first,
// in batches. A record is marked offered before it is sent (a correction of it from then on is a
// new revision: the sink may have stored it and timed out) and exported only once the sink has
// that revision (2xx, or 409: it had it already). A refused batch is retried with exponential backoff; past the last attempt, or on
// an answer that cannot improve, its records become dead letters for an operator to replay.
// One process exports at a time (lease); a redelivery after a crash is only a duplicate.

import type { Store } from '../store/store.ts';
import type { BillingSink } from '../export/sink.ts';
import type { Metrics } from '../metrics.ts';
import { markExported, offerForExport, recordExportFailure, recordsDueForExport } from '../store/exports.ts';
import { LeaseLost, underLease } from './leases.ts';

export interface ExportOptions {
  batchSize: number;
  /** Attempts before a record becomes a dead letter. */
  maxAttempts: number;
  /** The first retry waits this long, each next one twice as long, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  nowMs?: () => number;
  waitMs?: number;
  metrics?: Metrics;
  /** Called after each batch with the records handled so far (a terminal's progress line). */
  onProgress?: (handled: number) => void;
}

export interface ExportResult {
  delivered: number;
  duplicates: number;
  failed: number;
  deadLettered: number;
  /** Why the run stopped before the backlog was empty: the sink's answer, or its lease taken by another process. */
  stoppedBy?: string;
  busy?: boolean;
}

const EXPORT_LEASE = 'export';
const EXPORT_LEASE_MS = 5 * 60_000;

export function backoff(options: Pick<ExportOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>, permanent: boolean) {
  return (attempts: number): number | undefined =>
    permanent || attempts >= options.maxAttempts ? undefined : Math.min(options.baseDelayMs * 2 ** (attempts - 1), options.maxDelayMs);
}

export async function runExport(store: Store, sink: BillingSink, options: ExportOptions): Promise<ExportResult> {
  const result: ExportResult = { delivered: 0, duplicates: 0, failed: 0, deadLettered: 0 };
  const now = options.nowMs ?? Date.now;
  const ran = await underLease(store.db, { name: EXPORT_LEASE, ttlMs: EXPORT_LEASE_MS, waitMs: options.waitMs }, async (fence) => {
    for (;;) {
      const due = await recordsDueForExport(store.db, now(), options.batchSize);
      if (due.length === 0) break;
      // Marked offered before the send: from then on billing may have them, acknowledged or not.
      const records = await offerForExport(store.db, due);
      if (records.length === 0) continue; // a correction removed them between the scan and the mark
      const answer = await sink.deliver(records);
      const n = records.length;
      if (answer.ok) {
        await markExported(store.db, records, now());
        if (answer.duplicate) result.duplicates += n;
        else result.delivered += n;
        options.metrics?.exports.inc({ result: answer.duplicate ? 'duplicate' : 'delivered' }, n);
      } else {
        const { dead } = await recordExportFailure(store.db, records, { nowMs: now(), error: answer.error, retryInMs: backoff(options, answer.permanent) });
        result.failed += n;
        result.deadLettered += dead;
        result.stoppedBy = `${sink.description}: ${answer.error}`;
        options.metrics?.exports.inc({ result: 'failed' }, n);
        break; // the sink is unwell: what is due again is retried on a later run
      }
      options.onProgress?.(result.delivered + result.duplicates);
      // The lease renewed for the next batch, only if it is still the one taken for this run: a
      // sink slower than the lease lets another process take it, and two exporters at once
      // would send every batch twice. That process exports the rest.
      try {
        await fence(store.db);
      } catch (err) {
        if (!(err instanceof LeaseLost)) throw err;
        result.stoppedBy = err.message;
        break;
      }
    }
    return result;
  });
  return ran ?? { ...result, busy: true };
}
