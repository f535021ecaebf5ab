// Which final usage records still wait for the billing sink, and what happened when they were
// offered. A record is marked exported only after the sink accepted it.

import type { Db } from './store.ts';
import { chunks } from './store.ts';
import { num, optNum } from './rows.ts';
import { toRecord, type UsageRecord } from './usageRecords.ts';

export interface ExportableRecord extends UsageRecord {
  /** The zero-length record a DELETE leaves: part of the record's identity. */
  closing: boolean;
  /** Corrections after export: each is a new revision, exported again. */
  revision: number;
  /** Removed by a correction after billing saw it. */
  voided: boolean;
}

export interface DeadLetter {
  record: ExportableRecord;
  attempts: number;
  lastError: string;
  deadMs: number;
}

/** Final, unexported records whose next attempt is due (never dead letters), oldest first. */
export async function recordsDueForExport(db: Db, nowMs: number, limit: number): Promise<ExportableRecord[]> {
  const rows = await db.selectFrom('usage_records as r')
    .leftJoin('export_failures as f', 'f.record_id', 'r.id')
    .selectAll('r')
    .where('r.exported_ms', 'is', null).where('r.final', '=', 1)
    .where((eb) => eb.or([eb('f.record_id', 'is', null), eb.and([eb('f.dead_ms', 'is', null), eb('f.next_attempt_ms', '<=', nowMs)])]))
    .orderBy('r.hour_ms').orderBy('r.id').limit(limit).execute();
  return rows.map(toExportable);
}

export async function markExported(db: Db, ids: number[], nowMs: number): Promise<void> {
  for (const part of chunks(ids)) {
    await db.updateTable('usage_records').set({ exported_ms: nowMs }).where('id', 'in', part).where('exported_ms', 'is', null).execute();
    await db.deleteFrom('export_failures').where('record_id', 'in', part).execute();
  }
}

/** One more failed attempt for each record; `retryInMs(attempts)` says when to try again, undefined: give up. */
export async function recordExportFailure(db: Db, ids: number[], failure: { nowMs: number; error: string; retryInMs: (attempts: number) => number | undefined }): Promise<{ dead: number }> {
  let dead = 0;
  for (const part of chunks(ids)) {
    const previous = new Map((await db.selectFrom('export_failures').select(['record_id', 'attempts']).where('record_id', 'in', part).execute())
      .map((r) => [num(r.record_id), num(r.attempts)]));
    const rows = part.map((id) => {
      const attempts = (previous.get(id) ?? 0) + 1;
      const wait = failure.retryInMs(attempts);
      if (wait === undefined) dead++;
      return {
        record_id: id, attempts, next_attempt_ms: failure.nowMs + (wait ?? 0), last_error: failure.error.slice(0, 500),
        dead_ms: wait === undefined ? failure.nowMs : null,
      };
    });
    await db.insertInto('export_failures').values(rows).onConflict((oc) => oc.column('record_id').doUpdateSet((eb) => ({
      attempts: eb.ref('excluded.attempts'), next_attempt_ms: eb.ref('excluded.next_attempt_ms'),
      last_error: eb.ref('excluded.last_error'), dead_ms: eb.ref('excluded.dead_ms'),
    }))).execute();
  }
  return { dead };
}

export async function listDeadLetters(db: Db): Promise<DeadLetter[]> {
  const rows = await db.selectFrom('usage_records as r').innerJoin('export_failures as f', 'f.record_id', 'r.id')
    .selectAll('r').select(['f.attempts', 'f.last_error', 'f.dead_ms'])
    .where('f.dead_ms', 'is not', null).orderBy('r.hour_ms').orderBy('r.id').execute();
  return rows.map((r) => ({ record: toExportable(r), attempts: num(r.attempts), lastError: r.last_error, deadMs: optNum(r.dead_ms)! }));
}

export async function countDeadLetters(db: Db): Promise<number> {
  const r = await db.selectFrom('export_failures').select((eb) => eb.fn.countAll<number>().as('n')).where('dead_ms', 'is not', null).executeTakeFirstOrThrow();
  return num(r.n);
}

/** Puts dead letters (these, or all) back in line for the next export; returns how many. */
export async function replayDeadLetters(db: Db, recordIds?: number[]): Promise<number> {
  let q = db.deleteFrom('export_failures').where('dead_ms', 'is not', null);
  if (recordIds) q = q.where('record_id', 'in', recordIds.length ? recordIds : [-1]);
  return Number((await q.executeTakeFirst()).numDeletedRows);
}

function toExportable(r: any): ExportableRecord {
  return { ...toRecord(r), closing: num(r.closing) === 1, revision: num(r.revision), voided: num(r.voided) === 1 };
}
