// Which final usage records still wait for the billing sink, and what happened when they were
// offered. A record is marked offered before it is sent (from then on billing may have it: a
// correction is a new revision) and exported only after the sink accepted that revision.

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
  /** The billing rule that made it (domain/billingRules.ts). */
  ruleVersion: number;
  /** Its earlier revisions as offered, oldest first (read by offerForExport; the additive formats need them). */
  earlier?: OfferedRevision[];
}

/** A revision of a record as billing may have it: what the additive formats sum. */
export interface OfferedRevision {
  revision: number;
  startMs: number;
  endMs: number;
  bytesIn: bigint;
  bytesOut: bigint;
  bytesInSsl: bigint;
  bytesOutSsl: bigint;
  vipType: string;
  sslMode: string;
  voided: boolean;
}

export interface DeadLetter {
  record: ExportableRecord;
  attempts: number;
  lastError: string;
  deadMs: number;
}

/** What names one record in the store: its key (SPEC 5) and its id within its load balancer. */
export type RecordKey = Pick<ExportableRecord, 'loadBalancerId' | 'startMs' | 'closing' | 'id'>;

const joinFailures = (j: any) => j.onRef('f.load_balancer_id', '=', 'r.load_balancer_id').onRef('f.record_id', '=', 'r.id');

/** Final, unexported records whose next attempt is due (never dead letters), oldest first. */
export async function recordsDueForExport(db: Db, nowMs: number, limit: number): Promise<ExportableRecord[]> {
  const rows = await db.selectFrom('usage_records as r')
    .leftJoin('export_failures as f', joinFailures)
    .selectAll('r')
    .where('r.exported_ms', 'is', null).where('r.final', '=', 1)
    .where((eb) => eb.or([eb('f.record_id', 'is', null), eb.and([eb('f.dead_ms', 'is', null), eb('f.next_attempt_ms', '<=', nowMs)])]))
    .orderBy('r.hour_ms').orderBy('r.id').limit(limit).execute();
  return rows.map(toExportable);
}

/** `key in keys` for the records of one statement, as (load balancer, start, closing): the partition key is in it. */
function keyIn(keys: readonly RecordKey[]) {
  return (eb: any) => eb.or(keys.map((k) => eb.and([eb('load_balancer_id', '=', k.loadBalancerId), eb('start_ms', '=', k.startMs), eb('closing', '=', k.closing ? 1 : 0)])));
}

/** The export failures of these records (kept per load balancer and record id). */
function failureOf(records: readonly { loadBalancerId: number; id: number }[]) {
  return (eb: any) => eb.or(records.map((r) => eb.and([eb('load_balancer_id', '=', r.loadBalancerId), eb('record_id', '=', r.id)])));
}

const KEYS_PER_STATEMENT = 200;

/**
 * Marks these records offered (SPEC 5, Corrections under at-least-once delivery) and reads them
 * back as they are now: what is sent is what was marked, so a correction that comes later sees
 * the mark and makes a new revision, and one that came between the scan and the mark is sent.
 */
export async function offerForExport(db: Db, due: readonly RecordKey[]): Promise<ExportableRecord[]> {
  const offered: ExportableRecord[] = [];
  for (const part of chunks([...due], KEYS_PER_STATEMENT)) {
    await db.updateTable('usage_records').set({ offered: 1 }).where(keyIn(part)).where('exported_ms', 'is', null).where('final', '=', 1).execute();
    const rows = await db.selectFrom('usage_records').selectAll().where(keyIn(part)).where('exported_ms', 'is', null).where('offered', '=', 1).execute();
    const records = rows.map(toExportable);
    await rememberRevisions(db, records);
    offered.push(...await withEarlierRevisions(db, records));
  }
  const order = new Map(due.map((k, i) => [`${k.loadBalancerId}/${k.id}`, i]));
  return offered.sort((a, b) => order.get(`${a.loadBalancerId}/${a.id}`)! - order.get(`${b.loadBalancerId}/${b.id}`)!);
}

/** The sink has these revisions: each record is exported unless a correction made a newer one meanwhile. */
export async function markExported(db: Db, records: readonly ExportableRecord[], nowMs: number): Promise<void> {
  for (const part of chunks([...records], KEYS_PER_STATEMENT)) {
    for (const revision of new Set(part.map((r) => r.revision))) {
      const same = part.filter((r) => r.revision === revision);
      await db.updateTable('usage_records').set({ exported_ms: nowMs }).where(keyIn(same)).where('revision', '=', revision).where('exported_ms', 'is', null).execute();
    }
    await db.deleteFrom('export_failures').where(failureOf(part)).execute();
  }
}

/** One more failed attempt for each record; `retryInMs(attempts)` says when to try again, undefined: give up. */
export async function recordExportFailure(db: Db, records: readonly RecordKey[], failure: { nowMs: number; error: string; retryInMs: (attempts: number) => number | undefined }): Promise<{ dead: number }> {
  let dead = 0;
  for (const part of chunks([...records], KEYS_PER_STATEMENT)) {
    const previous = new Map((await db.selectFrom('export_failures').select(['load_balancer_id', 'record_id', 'attempts'])
      .where(failureOf(part)).execute())
      .map((r) => [`${num(r.load_balancer_id)}/${num(r.record_id)}`, num(r.attempts)]));
    const rows = part.map((r) => {
      const attempts = (previous.get(`${r.loadBalancerId}/${r.id}`) ?? 0) + 1;
      const wait = failure.retryInMs(attempts);
      if (wait === undefined) dead++;
      return {
        load_balancer_id: r.loadBalancerId, record_id: r.id, attempts, next_attempt_ms: failure.nowMs + (wait ?? 0), last_error: failure.error.slice(0, 500),
        dead_ms: wait === undefined ? failure.nowMs : null,
      };
    });
    await db.insertInto('export_failures').values(rows).onConflict((oc) => oc.columns(['load_balancer_id', 'record_id']).doUpdateSet((eb) => ({
      attempts: eb.ref('excluded.attempts'), next_attempt_ms: eb.ref('excluded.next_attempt_ms'),
      last_error: eb.ref('excluded.last_error'), dead_ms: eb.ref('excluded.dead_ms'),
    }))).execute();
  }
  return { dead };
}

export async function listDeadLetters(db: Db): Promise<DeadLetter[]> {
  const rows = await db.selectFrom('usage_records as r').innerJoin('export_failures as f', joinFailures)
    .selectAll('r').select(['f.attempts', 'f.last_error', 'f.dead_ms'])
    .where('f.dead_ms', 'is not', null).orderBy('r.hour_ms').orderBy('r.id').execute();
  return rows.map((r) => ({ record: toExportable(r), attempts: num(r.attempts), lastError: r.last_error, deadMs: optNum(r.dead_ms)! }));
}

export async function countDeadLetters(db: Db): Promise<number> {
  const r = await db.selectFrom('export_failures').select((eb) => eb.fn.countAll<number>().as('n')).where('dead_ms', 'is not', null).executeTakeFirstOrThrow();
  return num(r.n);
}

/** Puts dead letters (these, or all) back in line for the next export; returns how many. */
export async function replayDeadLetters(db: Db, records?: { loadBalancerId: number; id: number }[]): Promise<number> {
  let q = db.deleteFrom('export_failures').where('dead_ms', 'is not', null);
  if (records) q = q.where(failureOf(records));
  return Number((await q.executeTakeFirst()).numDeletedRows);
}

function toExportable(r: any): ExportableRecord {
  return { ...toRecord(r), closing: num(r.closing) === 1, revision: num(r.revision), voided: num(r.voided) === 1, ruleVersion: num(r.rule_version) };
}

/** Each offered revision's figures, once (an offered revision never changes: a change is a new one). */
async function rememberRevisions(db: Db, records: readonly ExportableRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db.insertInto('export_revisions').values(records.map((r) => ({
    load_balancer_id: r.loadBalancerId, start_ms: r.startMs, closing: r.closing ? 1 : 0, revision: r.revision, end_ms: r.endMs,
    bytes_in: r.bytesIn, bytes_out: r.bytesOut, bytes_in_ssl: r.bytesInSsl, bytes_out_ssl: r.bytesOutSsl,
    vip_type: r.vipType, ssl_mode: r.sslMode, voided: r.voided ? 1 : 0,
  }))).onConflict((oc) => oc.columns(['load_balancer_id', 'start_ms', 'closing', 'revision']).doNothing()).execute();
}

/** The records with their revisions before the one offered, oldest first. */
async function withEarlierRevisions(db: Db, records: ExportableRecord[]): Promise<ExportableRecord[]> {
  const revised = records.filter((r) => r.revision > 0);
  if (revised.length === 0) return records;
  const rows = await db.selectFrom('export_revisions').selectAll().where(keyIn(revised)).orderBy('revision').execute();
  const byKey = new Map<string, OfferedRevision[]>();
  for (const row of rows) {
    const key = `${num(row.load_balancer_id)}/${num(row.start_ms)}/${num(row.closing)}`;
    const list = byKey.get(key) ?? [];
    list.push({
      revision: num(row.revision), startMs: num(row.start_ms), endMs: num(row.end_ms),
      bytesIn: BigInt(row.bytes_in), bytesOut: BigInt(row.bytes_out), bytesInSsl: BigInt(row.bytes_in_ssl), bytesOutSsl: BigInt(row.bytes_out_ssl),
      vipType: row.vip_type, sslMode: row.ssl_mode, voided: num(row.voided) === 1,
    });
    byKey.set(key, list);
  }
  return records.map((r) => (r.revision > 0 ? { ...r, earlier: (byKey.get(`${r.loadBalancerId}/${r.startMs}/${r.closing ? 1 : 0}`) ?? []).filter((e) => e.revision < r.revision) } : r));
}

/** The revisions of records retention removed (the records before `cutoffMs` that are gone). */
export async function purgeOfferedRevisionsBefore(db: Db, cutoffMs: number): Promise<void> {
  await db.deleteFrom('export_revisions as e').where('e.start_ms', '<', cutoffMs)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('usage_records as u').select('u.id')
      .whereRef('u.load_balancer_id', '=', 'e.load_balancer_id').whereRef('u.start_ms', '=', 'e.start_ms').whereRef('u.closing', '=', 'e.closing'))))
    .execute();
}
