// Readings compaction (SPEC 5, Audit; issue 13). Raw readings are kept for a window after their
// hour is final; then each host's billed readings of an hour become one HOURLY row: the bytes
// summed, `polls` their count, connections summed (the rollup divides by polls), its time the
// last reading's. The rollup and the audit read an hourly row as the readings it stands for.
//
// Only readings that bill exactly their delta are compacted ("ordinary": not held, not decided by
// an operator, not a baseline before the CREATE, not after the DELETE); the others stay raw, with
// their anomalies, for as long as the records are kept. A day is compacted once (compacted_days).
// An hour an event splits into several records gets a row a host and record. Readings on the
// hour belong to the hour before (domain/rollup.ts), so an hour that spans midnight keeps two
// rows a host, one in each day. An event applied later (a held one an operator releases) finds
// an hour's bytes in its rows: conserved, but no longer split inside the hour.
//
// PostgreSQL rebuilds the day's partition (the compacted rows and the others into a new table
// that replaces it), so the raw rows go as a whole partition; SQLite deletes them an hour at a time.

import { sql, type RawBuilder } from 'kysely';
import type { Db } from './store.ts';
import { dialectOf } from './dialect/index.ts';
import { partitionName, partitionExists } from './partitions.ts';
import { num } from './rows.ts';
import { HOLD_CODE, KIND_CODE, OPERATOR_CODE } from './readings.ts';
import { DAY_MS, HOUR_MS } from '../domain/time.ts';

type Compacted = [column: string, value: RawBuilder<unknown>];
const sumOf = (c: string): Compacted => [c, sql`sum(${sql.ref(`s.${c}`)})`];

/**
 * The columns an hourly row gets, each from its group of ordinary readings `s`. No process or
 * raw counters: no delta is ever taken from or after an hourly row (a reading that would sit
 * next to one is not placed in the chain: ingest/samples.ts, usage/corrections.ts), and
 * leaving them out keeps a row at about 170 bytes with its indexes.
 */
const COMPACTED: Compacted[] = [
  ['load_balancer_id', sql`s.load_balancer_id`], ['account_id', sql`s.account_id`], ['host_id', sql`s.host_id`],
  ['time_ms', sql`max(s.time_ms)`],
  ...['bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl', 'connections', 'connections_ssl'].map(sumOf),
  ['kind', sql.lit(KIND_CODE.HOURLY)], ['hold', sql.lit(HOLD_CODE.NONE)], ['operator', sql.lit(OPERATOR_CODE.NONE)], ['polls', sql`count(*)`],
];

/** A reading that bills exactly its delta as a poll of its hour (decideReading's NORMAL, RESET, FIRST_IN_FULL). */
const ORDINARY = sql`(s.kind <> ${sql.lit(KIND_CODE.HOURLY)} and s.hold = ${sql.lit(HOLD_CODE.NONE)} and s.operator = ${sql.lit(OPERATOR_CODE.NONE)}
  and (s.kind <> ${sql.lit(KIND_CODE.FIRST)} or s.time_ms >= l.created_ms) and (l.deleted_ms is null or s.time_ms <= l.deleted_ms))`;
const billingHour = sql`((s.time_ms - 1) - ((s.time_ms - 1) % ${HOUR_MS}))`;

/**
 * Which of its hour's records a reading goes to: the number of its load balancer's events from
 * the hour's start up to it. Events split an hour into records, so readings with the same number
 * are in the same record; most load balancers have no event that day and are not looked up.
 */
function segmentOf(fromMs: number, toMs: number) {
  const eventful = sql`select e.load_balancer_id from events e where e.held = 0 and e.time_ms >= ${fromMs - HOUR_MS} and e.time_ms < ${toMs}`;
  return sql`case when s.load_balancer_id in (${eventful}) then (select count(*) from events e where e.load_balancer_id = s.load_balancer_id
    and e.held = 0 and e.time_ms >= ${billingHour} and e.time_ms < s.time_ms) else 0 end`;
}

/**
 * The hourly rows (one a host and record of an hour) of the ordinary readings of `source` with
 * time in [fromMs, toMs); `withId`: each keeps the id of its first reading (PostgreSQL's new
 * partition has no identity of its own).
 */
function compactedSelect(source: string, fromMs: number, toMs: number, withId: boolean) {
  const columns: Compacted[] = [...(withId ? [['id', sql`min(s.id)`] as Compacted] : []), ...COMPACTED];
  const readings = sql`select s.*, ${billingHour} as billing_hour, ${segmentOf(fromMs, toMs)} as segment
    from ${sql.table(source)} s where s.time_ms >= ${fromMs} and s.time_ms < ${toMs}`;
  return {
    names: sql.join(columns.map(([c]) => sql.ref(c))),
    select: sql`select ${sql.join(columns.map(([c, value]) => sql`${value} as ${sql.ref(c)}`))}
      from (${readings}) s join load_balancers l on l.id = s.load_balancer_id
      where ${ORDINARY}
      group by s.account_id, s.load_balancer_id, s.host_id, s.billing_hour, s.segment`,
  };
}

export interface CompactedDay {
  dayMs: number;
  rowsBefore: number;
  rowsAfter: number;
}

/** Compacts the readings of the day starting at dayMs (UTC), once; undefined if it was done before. */
export async function compactDay(db: Db, dayMs: number, nowMs = Date.now()): Promise<CompactedDay | undefined> {
  const done = await db.selectFrom('compacted_days').select('day_ms').where('day_ms', '=', dayMs).executeTakeFirst();
  if (done) return undefined;
  const counts = dialectOf(db).partitionsByDay ? await rebuildPartition(db, dayMs) : await compactInPlace(db, dayMs);
  await db.insertInto('compacted_days').values({ day_ms: dayMs, compacted_ms: nowMs, rows_before: counts.before, rows_after: counts.after })
    .onConflict((oc) => oc.doNothing()).execute();
  return { dayMs, rowsBefore: counts.before, rowsAfter: counts.after };
}

/**
 * PostgreSQL: one transaction writes the day's hourly rows and its other readings into a new
 * table and puts it in place of the day's partition. Writes into the day wait meanwhile (the
 * partition is locked SHARE; they are late readings of final hours, held anyway); reads go on
 * until the brief swap.
 */
async function rebuildPartition(db: Db, dayMs: number): Promise<{ before: number; after: number }> {
  const part = partitionName('usage_samples', dayMs);
  if (!(await partitionExists(db, part))) return { before: 0, after: 0 };
  const next = `${part}_compacted`;
  return db.transaction().execute(async (trx) => {
    await sql`lock table ${sql.table(part)} in share mode`.execute(trx);
    const before = await countRows(trx, part);
    await sql`drop table if exists ${sql.table(next)}`.execute(trx);
    await sql`create table ${sql.table(next)} (like usage_samples including defaults)`.execute(trx);
    const { names, select } = compactedSelect(part, dayMs, dayMs + DAY_MS, true);
    await sql`insert into ${sql.table(next)} (${names}) ${select}`.execute(trx);
    await sql`insert into ${sql.table(next)} select s.* from ${sql.table(part)} s left join load_balancers l on l.id = s.load_balancer_id
      where not coalesce(${ORDINARY}, false)`.execute(trx);
    const after = await countRows(trx, next);
    await sql`alter table usage_samples detach partition ${sql.table(part)}`.execute(trx);
    await sql`drop table ${sql.table(part)}`.execute(trx);
    await sql`alter table ${sql.table(next)} rename to ${sql.table(part)}`.execute(trx);
    await sql`alter table usage_samples attach partition ${sql.table(part)} for values from (${sql.lit(dayMs)}) to (${sql.lit(dayMs + DAY_MS)})`.execute(trx);
    return { before, after };
  });
}

/** SQLite: an hour at a time, the hourly rows go in and the readings they stand for go out. */
async function compactInPlace(db: Db, dayMs: number): Promise<{ before: number; after: number }> {
  let before = 0;
  let after = 0;
  // Billing hours (H, H+1h] cut to the day [dayMs, dayMs + 1 day): the reading at midnight first.
  const bounds = [dayMs, dayMs + 1];
  for (let h = dayMs + HOUR_MS + 1; h < dayMs + DAY_MS; h += HOUR_MS) bounds.push(h);
  bounds.push(dayMs + DAY_MS);
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [from, to] = [bounds[i]!, bounds[i + 1]!];
    const counts = await db.transaction().execute(async (trx) => {
      const inWindow = sql`s.time_ms >= ${from} and s.time_ms < ${to}`;
      const n = async () => num((await sql<{ n: number }>`select count(*) as n from usage_samples s where ${inWindow}`.execute(trx)).rows[0]!.n);
      const rowsBefore = await n();
      const ordinary = sql`select s.id from usage_samples s join load_balancers l on l.id = s.load_balancer_id where ${inWindow} and ${ORDINARY}`;
      const { names, select } = compactedSelect('usage_samples', from, to, false);
      // The hourly rows first: they are not ordinary readings, so the delete leaves them.
      await sql`insert into usage_samples (${names}) ${select}`.execute(trx);
      await sql`delete from usage_samples where id in (${ordinary})`.execute(trx);
      return { rowsBefore, rowsAfter: await n() };
    });
    before += counts.rowsBefore;
    after += counts.rowsAfter;
  }
  return { before, after };
}

async function countRows(db: Db, table: string): Promise<number> {
  return num((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);
}

/**
 * The days to compact now: every day not yet compacted whose readings all belong to hours that
 * have been final for `keepDays` (the last of them, 23:00-24:00, ends with the day).
 */
export async function daysToCompact(db: Db, keepDays: number): Promise<number[]> {
  const lastFinal = await db.selectFrom('hours').select((eb) => eb.fn.max('hour_ms').as('h')).where('final', '=', 1).executeTakeFirst();
  const oldest = await db.selectFrom('usage_samples').select((eb) => eb.fn.min('time_ms').as('t')).executeTakeFirst();
  if (lastFinal?.h == null || oldest?.t == null) return [];
  const cutoff = num(lastFinal.h) + HOUR_MS - keepDays * DAY_MS;
  const done = new Set((await db.selectFrom('compacted_days').select('day_ms').where('day_ms', '<', cutoff).execute()).map((r) => num(r.day_ms)));
  const days: number[] = [];
  for (let day = num(oldest.t) - (num(oldest.t) % DAY_MS); day + DAY_MS <= cutoff; day += DAY_MS) if (!done.has(day)) days.push(day);
  return days;
}
