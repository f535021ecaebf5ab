// Which UTC hours have been rolled up, and which are final (frozen for export).

import type { Db } from './store.ts';
import { num } from './rows.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';

export async function finalHours(db: Db, fromMs: number, toMs: number): Promise<Set<number>> {
  const rows = await db.selectFrom('hours').select('hour_ms').where('final', '=', 1).where('hour_ms', '>=', fromMs).where('hour_ms', '<', toMs).execute();
  return new Set(rows.map((r) => num(r.hour_ms)));
}

export async function isHourFinal(db: Db, hourMs: number): Promise<boolean> {
  const r = await db.selectFrom('hours').select('final').where('hour_ms', '=', hourMs).executeTakeFirst();
  return r !== undefined && num(r.final) === 1;
}

export async function lastFinalHour(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('hours').select((eb) => eb.fn.max('hour_ms').as('h')).where('final', '=', 1).executeTakeFirst();
  return r?.h === null || r?.h === undefined ? undefined : num(r.h as number);
}

export async function markHour(db: Db, hourMs: number, final: boolean, nowMs = Date.now()): Promise<void> {
  await db.insertInto('hours').values({ hour_ms: hourMs, final: final ? 1 : 0, rolled_ms: nowMs })
    .onConflict((oc) => oc.column('hour_ms').doUpdateSet({ final: final ? 1 : 0, rolled_ms: nowMs })).execute();
}

/** How long the oldest ended hour has waited to be rolled up (0: none waits, or nothing rolled yet). */
export async function rollupLagMs(db: Db, nowMs: number): Promise<number> {
  const last = await lastRolledHour(db);
  return last === undefined ? 0 : Math.max(0, floorHour(nowMs) - (last + HOUR_MS));
}

/** The latest hour rolled up at all (final or not). */
export async function lastRolledHour(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('hours').select((eb) => eb.fn.max('hour_ms').as('h')).executeTakeFirst();
  return r?.h === null || r?.h === undefined ? undefined : num(r.h as number);
}
