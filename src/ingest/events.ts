// Lifecycle event intake (SPEC 4): idempotent by id, all or nothing, order-independent. Events
// are facts: intake stores them, derives the current state of the load balancers they touch and
// the account snapshots from the whole stored history, and leaves records to the rollup. An event
// for an hour already final is held for an operator instead of changing that hour or any later
// one (SPEC 5, Late data).

import type { Db, Store } from '../store/store.ts';
import { insertNewEvents, eventsOfLoadBalancers, eventsOfAccount, setEventsHeld } from '../store/events.ts';
import { saveLoadBalancerStates } from '../store/loadBalancers.ts';
import { lastDailySnapshot, replaceAccountSnapshots } from '../store/accountUsage.ts';
import { holdAnomalies } from '../store/anomalies.ts';
import { finalHours } from '../store/hours.ts';
import { lockEventIntake, lockHours } from '../store/dialect/index.ts';
import { finalState, timeline } from '../domain/lifecycle.ts';
import { accountSnapshotsFrom } from '../domain/snapshot.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';
import type { LifecycleEvent, LoadBalancerState } from '../domain/types.ts';

export interface EventIntakeResult {
  accepted: number;
  duplicates: number;
  /** Accepted but held for an operator: their hour was final. */
  held: number;
}

export async function ingestEvents(store: Store, events: LifecycleEvent[], nowMs = Date.now()): Promise<EventIntakeResult> {
  return store.transaction(async (trx) => {
    await lockEventIntake(trx);
    const fresh = await insertNewEvents(trx, events, nowMs);
    const result = { accepted: fresh.length, duplicates: events.length - fresh.length, held: 0 };
    if (fresh.length === 0) return result;
    const hours = fresh.map((e) => floorHour(e.timeMs));
    // The hours cannot become final between this check and the commit (see lockHours).
    await lockHours(trx, hours, 'shared');
    const final = await finalHours(trx, Math.min(...hours), Math.max(...hours) + HOUR_MS);
    const late = fresh.filter((e) => final.has(floorHour(e.timeMs)));
    if (late.length) {
      await setEventsHeld(trx, late.map((e) => e.id), true);
      await holdAnomalies(trx, late.map((e) => ({
        kind: 'LATE_EVENT' as const, timeMs: e.timeMs, loadBalancerId: e.loadBalancerId, eventId: e.id,
        detail: `${e.type} ${e.id} arrived after its hour was final`,
      })), nowMs);
      result.held = late.length;
    }
    await applyHistory(trx, fresh.filter((e) => !final.has(floorHour(e.timeMs))));
    return result;
  });
}

/**
 * The derived state of what these events touch, from the whole stored history: each load
 * balancer's current state, and each account's snapshots from its earliest such event on.
 * Also what releasing a held event does.
 */
export async function applyHistory(trx: Db, events: LifecycleEvent[]): Promise<void> {
  if (events.length === 0) return;
  const byLb = await eventsOfLoadBalancers(trx, events.map((e) => e.loadBalancerId));
  const states: LoadBalancerState[] = [];
  for (const lbEvents of byLb.values()) {
    const state = finalState(lbEvents);
    if (state) states.push(state);
  }
  await saveLoadBalancerStates(trx, states);

  const earliest = new Map<number, number>();
  for (const e of events) earliest.set(e.accountId, Math.min(earliest.get(e.accountId) ?? Infinity, e.timeMs));
  const dailyUntil = (await lastDailySnapshot(trx)) ?? -Infinity;
  for (const [accountId, fromMs] of earliest) {
    const timelines = [...(await eventsOfAccount(trx, accountId)).values()].map(timeline);
    await replaceAccountSnapshots(trx, accountId, fromMs, accountSnapshotsFrom(timelines, fromMs, dailyUntil));
  }
}
