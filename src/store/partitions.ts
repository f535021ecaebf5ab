// Day partitions of the usage tables where the dialect has them (PostgreSQL, migration 005). A day's
// partition is made before the first write into it, outside the writing transaction (creating
// one locks its parent table), and remembered by this process. Retention drops whole days.

import { sql, type Kysely } from 'kysely';
import { dialectOf } from './dialect/index.ts';
import { perStore } from './perStore.ts';
import { DAY_MS, floorDay } from '../domain/time.ts';

export type PartitionedTable = 'usage_records' | 'usage_samples';

/** Partitions known to exist, per store. */
const made = perStore(() => new Set<string>());

export function dayStartsOf(fromMs: number, toMs: number): number[] {
  const days: number[] = [];
  for (let day = floorDay(fromMs); day <= toMs; day += DAY_MS) days.push(day);
  return days;
}

export const partitionName = (table: PartitionedTable | string, dayMs: number) => `${table}_${new Date(dayMs).toISOString().slice(0, 10).replace(/-/g, '')}`;

export async function createDayPartition(db: Kysely<any>, table: PartitionedTable | string, dayMs: number): Promise<void> {
  try {
    await sql.raw(`create table if not exists ${partitionName(table, dayMs)} partition of ${table} for values from (${dayMs}) to (${dayMs + DAY_MS})`).execute(db);
  } catch (err) {
    // Another process made it between our check and our create.
    if ((err as { code?: string }).code !== '42P07') throw err;
  }
}

/** Makes sure every day of [fromMs, toMs] has its partition. */
export async function ensureDayPartitions(db: Kysely<any>, table: PartitionedTable, fromMs: number, toMs: number): Promise<void> {
  if (!dialectOf(db).partitionsByDay) return;
  for (const day of dayStartsOf(fromMs, toMs)) {
    const name = partitionName(table, day);
    if (made(db).has(name)) continue;
    await createDayPartition(db, table, day);
    made(db).add(name);
  }
}

export async function partitionExists(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql`select 1 from pg_class where relname = ${name} and relkind = 'r'`.execute(db);
  return r.rows.length > 0;
}

/**
 * Drops the day partitions that end at or before `beforeMs`, except a day holding a row
 * `keep` selects (a record not exported yet); returns how many rows went with them.
 */
export async function dropDayPartitionsBefore(db: Kysely<any>, table: PartitionedTable, beforeMs: number, keep?: string): Promise<number> {
  if (!dialectOf(db).partitionsByDay) return 0;
  const parts = await sql<{ name: string }>`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent where p.relname = ${table}`.execute(db);
  let dropped = 0;
  for (const { name } of parts.rows) {
    const m = /_(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (!m) continue;
    const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    if (day + DAY_MS > beforeMs) continue;
    if (keep) {
      const held = await sql.raw(`select 1 from ${name} where ${keep} limit 1`).execute(db);
      if (held.rows.length) continue;
    }
    const rows = await sql.raw<{ n: string }>(`select count(*)::text as n from ${name}`).execute(db);
    await sql.raw(`drop table ${name}`).execute(db);
    made(db).delete(name);
    dropped += Number(rows.rows[0]!.n);
  }
  return dropped;
}
