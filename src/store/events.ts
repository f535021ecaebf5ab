// Lifecycle events as received, the source of truth for load balancer history. An event held for
// an operator (it came for a final hour) is stored but left out of the history until released.

import type { Db } from './store.ts';
import { chunks } from './store.ts';
import { idBatches, idIn } from './dialect/index.ts';
import { num } from './rows.ts';
import { noteFactChanges } from './factChanges.ts';
import type { EventType, LifecycleEvent } from '../domain/types.ts';

/**
 * Inserts the events whose id is new and returns those (the others are duplicates). The id is
 * checked by the insert itself: two concurrent retries of one batch cannot both insert an event,
 * and neither fails (the second waits for the first, then finds the ids taken).
 */
export async function insertNewEvents(db: Db, events: LifecycleEvent[], nowMs = Date.now()): Promise<LifecycleEvent[]> {
  const byId = new Map<string, LifecycleEvent>();
  for (const e of events) if (!byId.has(e.id)) byId.set(e.id, e); // a repeated id inside one batch is a duplicate too
  const inserted = new Set<string>();
  for (const part of chunks([...byId.values()])) {
    const rows = await db.insertInto('events').values(part.map((e) => ({
      id: e.id,
      type: e.type,
      time_ms: e.timeMs,
      account_id: e.accountId,
      load_balancer_id: e.loadBalancerId,
      body: JSON.stringify(e.loadBalancer ?? null),
      received_ms: nowMs,
    }))).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute();
    for (const r of rows) inserted.add(r.id);
  }
  const fresh = [...byId.values()].filter((e) => inserted.has(e.id));
  // Any hour of the load balancer: a CREATE bills readings from before it, a DELETE moves what follows.
  await noteFactChanges(db, fresh.map((e) => ({ loadBalancerId: e.loadBalancerId })));
  return fresh;
}

/** Events for a final hour wait outside the history until an operator decides (SPEC 5, Late data). */
export async function setEventsHeld(db: Db, ids: string[], held: boolean): Promise<void> {
  for (const part of chunks(ids)) {
    await db.updateTable('events').set({ held: held ? 1 : 0 }).where('id', 'in', part).execute();
    const owners = await db.selectFrom('events').select('load_balancer_id').distinct().where('id', 'in', part).execute();
    await noteFactChanges(db, owners.map((r) => ({ loadBalancerId: num(r.load_balancer_id) })));
  }
}

export async function getEvent(db: Db, id: string): Promise<(LifecycleEvent & { held: boolean }) | undefined> {
  const r = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  return r && { ...toEvent(r), held: num(r.held) === 1 };
}

export async function eventsOfLoadBalancers(db: Db, ids: number[]): Promise<Map<number, LifecycleEvent[]>> {
  const out = new Map<number, LifecycleEvent[]>();
  for (const part of idBatches(db, [...new Set(ids)])) {
    const rows = await db.selectFrom('events').selectAll().where(idIn(db, 'load_balancer_id', part)).where('held', '=', 0).execute();
    for (const r of rows) push(out, num(r.load_balancer_id), toEvent(r));
  }
  return out;
}

export async function eventsOfAccount(db: Db, accountId: number): Promise<Map<number, LifecycleEvent[]>> {
  const out = new Map<number, LifecycleEvent[]>();
  const rows = await db.selectFrom('events').selectAll().where('account_id', '=', accountId).where('held', '=', 0).execute();
  for (const r of rows) push(out, num(r.load_balancer_id), toEvent(r));
  return out;
}

/** The account that owns each load balancer id, from its events (held ones too: ownership is not history). */
export async function accountsOfLoadBalancers(db: Db, ids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db.selectFrom('events').select(['load_balancer_id', 'account_id']).where('load_balancer_id', 'in', part).distinct().execute();
    for (const r of rows) out.set(num(r.load_balancer_id), num(r.account_id));
  }
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function toEvent(r: any): LifecycleEvent {
  const e: LifecycleEvent = {
    id: r.id,
    type: r.type as EventType,
    timeMs: num(r.time_ms),
    accountId: num(r.account_id),
    loadBalancerId: num(r.load_balancer_id),
  };
  const body = JSON.parse(r.body);
  if (body) e.loadBalancer = body;
  return e;
}
