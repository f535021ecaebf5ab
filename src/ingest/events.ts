// Lifecycle event intake (SPEC 4): idempotent by id, all or nothing, order-independent.

import type { Store } from '../store/store.ts';
import { insertNewEvents, eventsOfLoadBalancers, eventsOfAccount } from '../store/events.ts';
import { saveLoadBalancerStates } from '../store/loadBalancers.ts';
import { hostIdsOfCluster } from '../store/inventory.ts';
import { setZeroBaselines } from '../store/counters.ts';
import { putSnapshots, snapshotTimesOf, type SnapshotSource } from '../store/accountUsage.ts';
import { holdAnomalies } from '../store/anomalies.ts';
import { finalHours } from '../store/hours.ts';
import { finalState, timeline } from '../domain/lifecycle.ts';
import { countAccountAt, SNAPSHOT_EVENTS } from '../domain/snapshot.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';
import type { LifecycleEvent, LoadBalancerState } from '../domain/types.ts';

export interface EventIntakeResult {
  accepted: number;
  duplicates: number;
}

export async function ingestEvents(store: Store, events: LifecycleEvent[], nowMs = Date.now()): Promise<EventIntakeResult> {
  return store.transaction(async (trx) => {
    const fresh = await insertNewEvents(trx, events, nowMs);
    if (fresh.length === 0) return { accepted: 0, duplicates: events.length };

    const byLb = await eventsOfLoadBalancers(trx, fresh.map((e) => e.loadBalancerId));
    const states: LoadBalancerState[] = [];
    for (const lbEvents of byLb.values()) {
      const state = finalState(lbEvents);
      if (state) states.push(state);
    }
    await saveLoadBalancerStates(trx, states);

    const stateById = new Map(states.map((s) => [s.id, s]));
    for (const e of fresh) {
      if (e.type !== 'CREATE_LOADBALANCER' && e.type !== 'UNSUSPEND_LOADBALANCER') continue;
      const state = stateById.get(e.loadBalancerId);
      if (state) await setZeroBaselines(trx, await hostIdsOfCluster(trx, state.clusterId), e.loadBalancerId, e.timeMs);
    }

    await refreshAccountSnapshots(trx, fresh);
    await holdLateEvents(trx, fresh);
    return { accepted: fresh.length, duplicates: events.length - fresh.length };
  });
}

/** Re-counts every snapshot of the touched accounts from the earliest new event on. */
async function refreshAccountSnapshots(db: Parameters<typeof eventsOfAccount>[0], fresh: LifecycleEvent[]): Promise<void> {
  const earliest = new Map<number, number>();
  for (const e of fresh) earliest.set(e.accountId, Math.min(earliest.get(e.accountId) ?? Infinity, e.timeMs));
  for (const [accountId, fromMs] of earliest) {
    const timelines = [...(await eventsOfAccount(db, accountId)).values()].map(timeline);
    const times = new Map<string, { timeMs: number; source: SnapshotSource }>();
    for (const steps of timelines) {
      for (const { event } of steps) {
        if (event.timeMs >= fromMs && SNAPSHOT_EVENTS.has(event.type)) times.set(`EVENT/${event.timeMs}`, { timeMs: event.timeMs, source: 'EVENT' });
      }
    }
    for (const t of await snapshotTimesOf(db, accountId, fromMs)) times.set(`${t.source}/${t.timeMs}`, t);
    await putSnapshots(db, [...times.values()].map((t) => ({ accountId, ...t, counts: countAccountAt(timelines, t.timeMs) })));
  }
}

/** An event inside a final hour cannot change its records any more: an operator must look. */
async function holdLateEvents(db: Parameters<typeof finalHours>[0], fresh: LifecycleEvent[]): Promise<void> {
  const minHour = Math.min(...fresh.map((e) => floorHour(e.timeMs)));
  const maxHour = Math.max(...fresh.map((e) => floorHour(e.timeMs)));
  const final = await finalHours(db, minHour, maxHour + HOUR_MS);
  const late = fresh.filter((e) => final.has(floorHour(e.timeMs)));
  await holdAnomalies(db, late.map((e) => ({
    kind: 'LATE_EVENT' as const, timeMs: e.timeMs, loadBalancerId: e.loadBalancerId,
    detail: `${e.type} ${e.id} arrived after its hour was final`,
  })));
}
