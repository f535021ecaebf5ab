// The hourly rollup job (SPEC 5): closes every ended hour, hour by hour, catching up after
// downtime. Hours stay provisional for a grace period and are re-rolled on each run where their
// facts changed (late data lands in them: store/factChanges.ts); then they are rolled whole once
// more and are final, and change only by an operator's correction. One process
// at a time rolls up: it holds the rollup lease and renews it in every hour's transaction, so a
// process that lost the lease (stalled past its expiry) cannot commit, and a killed one leaves
// only whole hours. The hour being made final is locked against ingest for its transaction
// (store/dialect.ts lockHours): a reading either lands before and is rolled in, or after and is
// held as late.

import type { Store, Db } from '../store/store.ts';
import { eventsOfAccount } from '../store/events.ts';
import { accountsWithLiveLoadBalancerAt } from '../store/loadBalancers.ts';
import { lastFinalHour, markHour, provisionalHoursUnderThisRule } from '../store/hours.ts';
import { hasDailySnapshot, putSnapshots } from '../store/accountUsage.ts';
import { lockEventIntake, lockHours } from '../store/dialect/index.ts';
import { timeline } from '../domain/lifecycle.ts';
import { countAccountAt } from '../domain/snapshot.ts';
import { DAY_MS, floorDay, floorHour, HOUR_MS } from '../domain/time.ts';
import { num } from '../store/rows.ts';
import { ensureDayPartitions } from '../store/partitions.ts';
import { FLEET_SLICE, rollFleetHour, rollLoadBalancersOfHour } from '../usage/hourRollup.ts';
import { clearFactChanges, pendingFactChanges } from '../store/factChanges.ts';
import { underLease, type Fence } from './leases.ts';
import { perStore } from '../store/perStore.ts';

export interface RollupOptions {
  nowMs?: number;
  /** How long after its end an hour stays open to late data (SPEC default 2 h). */
  graceMs: number;
  /** How long to wait while another process rolls up (0: leave this run to it). */
  waitMs?: number;
  holder?: string;
  /** Load balancers rolled at a time (default usage/hourRollup.ts FLEET_SLICE; tests take small ones). */
  sliceSize?: number;
  /** Called after each hour with the hours rolled so far (a terminal's progress line). */
  onProgress?: (hoursRolled: number) => void;
}

export interface RollupResult {
  /** Hours rolled, whole or for the load balancers whose facts changed (an unchanged provisional hour is left as it is). */
  hoursRolled: number;
  hoursFinalized: number;
  records: number;
  /** Another process held the rollup lease throughout the wait; it does the work. */
  busy?: boolean;
}

const ROLLUP_LEASE = 'rollup';
const ROLLUP_LEASE_MS = 2 * 60_000;

/**
 * Rollups of one process run one after another: they would hold the process's one lease
 * together, and the first to finish would drop it under the others (which then failed). One
 * asked for while another runs here waits for it, then rolls what is left.
 */
const rollupsHere = perStore(() => ({ last: Promise.resolve() as Promise<unknown> }));

export async function runRollup(store: Store, options: RollupOptions): Promise<RollupResult> {
  const lane = rollupsHere(store.db);
  const run = lane.last.then(async () => {
    const terms = { name: ROLLUP_LEASE, ttlMs: ROLLUP_LEASE_MS, waitMs: options.waitMs, holder: options.holder };
    const rolled = await underLease(store.db, terms, (fence) => rollUpHeld(store, options, fence));
    return rolled ?? { hoursRolled: 0, hoursFinalized: 0, records: 0, busy: true };
  });
  lane.last = run.catch(() => {});
  return run;
}

async function rollUpHeld(store: Store, options: RollupOptions, fence: Fence): Promise<RollupResult> {
  const nowMs = options.nowMs ?? Date.now();
  const result: RollupResult = { hoursRolled: 0, hoursFinalized: 0, records: 0 };
  const first = await firstOpenHour(store.db);
  if (first === undefined) return result;
  const lastEnded = floorHour(nowMs);
  // Read before any fact (store/factChanges.ts): what changed since the runs before this one.
  const changes = await pendingFactChanges(store.db);
  const rolledUnderThisRule = await provisionalHoursUnderThisRule(store.db, first);
  for (let hour = first; hour < lastEnded; hour += HOUR_MS) {
    const final = hour + HOUR_MS + options.graceMs <= nowMs;
    // A provisional hour rolled before under this rule is rolled again only for what changed.
    const whole = final || !rolledUnderThisRule.has(hour) || changes.fleetChangedIn(hour);
    const changed = whole ? [] : changes.loadBalancersChangedIn(hour);
    if (!whole && changed.length === 0) continue;
    await ensureDayPartitions(store.db, 'usage_records', hour, hour + HOUR_MS - 1); // outside: it locks the table
    const records = await store.transaction(async (trx) => {
      await fence(trx);
      // Ingest into an hour being made final waits, and is then held as late.
      if (final) await lockHours(trx, [hour], 'exclusive');
      const written = whole || changed.length > FLEET_SLICE
        ? await rollFleetHour(trx, hour, { final, nowMs, sliceSize: options.sliceSize })
        : await rollLoadBalancersOfHour(trx, hour, changed, nowMs);
      await markHour(trx, hour, final, nowMs);
      return written;
    });
    result.hoursRolled++;
    if (final) result.hoursFinalized++;
    result.records += records;
    options.onProgress?.(result.hoursRolled);
  }
  // Every hour these changes can move has been rolled since they were read.
  await clearFactChanges(store.db, changes.ids);
  await takeDailySnapshots(store, first, nowMs, fence);
  return result;
}

async function firstOpenHour(db: Db): Promise<number | undefined> {
  const lastFinal = await lastFinalHour(db);
  if (lastFinal !== undefined) return lastFinal + HOUR_MS;
  const r = await db.selectFrom('load_balancers').select((eb) => eb.fn.min('created_ms').as('t')).executeTakeFirst();
  return r?.t === null || r?.t === undefined ? undefined : floorHour(num(r.t as number));
}

/**
 * A snapshot at every midnight UTC for every account with a live load balancer then. Event
 * intake keeps the days already taken up to date as late events change an account's history
 * (ingest/events.ts); it waits for this transaction, so the two never miss each other.
 */
async function takeDailySnapshots(store: Store, fromMs: number, nowMs: number, fence: Fence): Promise<void> {
  for (let day = floorDay(fromMs) + (fromMs % DAY_MS === 0 ? 0 : DAY_MS); day <= nowMs; day += DAY_MS) {
    if (await hasDailySnapshot(store.db, day)) continue;
    await store.transaction(async (trx) => {
      await fence(trx);
      await lockEventIntake(trx);
      const accounts = await accountsWithLiveLoadBalancerAt(trx, day);
      const rows = [];
      for (const accountId of accounts) {
        const timelines = [...(await eventsOfAccount(trx, accountId)).values()].map(timeline);
        rows.push({ accountId, timeMs: day, source: 'DAILY' as const, counts: countAccountAt(timelines, day) });
      }
      await putSnapshots(trx, rows);
    });
  }
}
