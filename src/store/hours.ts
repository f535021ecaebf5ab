// Which UTC hours have been rolled up, and which are final (frozen for export).

import type { Db } from './store.ts';
import { num } from './rows.ts';
import { BILLING_RULE_VERSION } from '../domain/billingRules.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';

/**
 * The rollup makes hours final in order, from the first load balancer's creation on: every hour
 * up to the newest final one is closed, rolled or not. An hour before the first one rolled (a
 * CREATE the control plane sends for an earlier time) will never be rolled by the job: data for
 * it is late, held for an operator whose release rolls it as a correction.
 */
export async function finalHours(db: Db, fromMs: number, toMs: number): Promise<Set<number>> {
  const last = await lastFinalHour(db);
  const hours = new Set<number>();
  if (last !== undefined) for (let h = floorHour(fromMs); h < toMs && h <= last; h += HOUR_MS) if (h >= fromMs) hours.add(h);
  return hours;
}

export async function isHourFinal(db: Db, hourMs: number): Promise<boolean> {
  const last = await lastFinalHour(db);
  return last !== undefined && hourMs <= last;
}

export async function lastFinalHour(db: Db): Promise<number | undefined> {
  const r = await db.selectFrom('hours').select((eb) => eb.fn.max('hour_ms').as('h')).where('final', '=', 1).executeTakeFirst();
  return r?.h === null || r?.h === undefined ? undefined : num(r.h as number);
}

/** The hour rolled (whole: its rule is the one rolling it now) at nowMs, final or not. */
export async function markHour(db: Db, hourMs: number, final: boolean, nowMs = Date.now()): Promise<void> {
  const state = { final: final ? 1 : 0, rolled_ms: nowMs, rule_version: BILLING_RULE_VERSION };
  await db.insertInto('hours').values({ hour_ms: hourMs, ...state }).onConflict((oc) => oc.column('hour_ms').doUpdateSet(state)).execute();
}

/** Provisional hours from fromMs on last rolled whole under this lbmeter's billing rule: the ones a roll may leave as they are. */
export async function provisionalHoursUnderThisRule(db: Db, fromMs: number): Promise<Set<number>> {
  const rows = await db.selectFrom('hours').select('hour_ms').where('hour_ms', '>=', fromMs).where('final', '=', 0)
    .where('rule_version', '=', BILLING_RULE_VERSION).execute();
  return new Set(rows.map((r) => num(r.hour_ms)));
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
