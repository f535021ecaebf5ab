// Lifecycle events as received, the source of truth for load balancer history.

import type { Db } from './store.ts';
import { chunks } from './store.ts';
import { idBatches, idIn } from './dialect.ts';
import { num } from './rows.ts';
import type { EventType, LifecycleEvent } from '../domain/types.ts';

/** Inserts the events whose id is new; returns those (the others are duplicates). */
export async function insertNewEvents(db: Db, events: LifecycleEvent[], nowMs = Date.now()): Promise<LifecycleEvent[]> {
  if (events.length === 0) return [];
  const known = new Set<string>();
  for (const part of chunks(events.map((e) => e.id))) {
    const rows = await db.selectFrom('events').select('id').where('id', 'in', part).execute();
    for (const r of rows) known.add(r.id);
  }
  const fresh: LifecycleEvent[] = [];
  for (const e of events) {
    if (known.has(e.id)) continue;
    known.add(e.id); // a repeated id inside one batch is a duplicate too
    fresh.push(e);
  }
  for (const part of chunks(fresh)) {
    await db.insertInto('events').values(part.map((e) => ({
      id: e.id,
      type: e.type,
      time_ms: e.timeMs,
      account_id: e.accountId,
      load_balancer_id: e.loadBalancerId,
      body: JSON.stringify(e.loadBalancer ?? null),
      received_ms: nowMs,
    }))).execute();
  }
  return fresh;
}

export async function eventsOfLoadBalancers(db: Db, ids: number[]): Promise<Map<number, LifecycleEvent[]>> {
  const out = new Map<number, LifecycleEvent[]>();
  for (const part of idBatches(db, [...new Set(ids)])) {
    const rows = await db.selectFrom('events').selectAll().where(idIn(db, 'load_balancer_id', part)).execute();
    for (const r of rows) push(out, num(r.load_balancer_id), toEvent(r));
  }
  return out;
}

export async function eventsOfAccount(db: Db, accountId: number): Promise<Map<number, LifecycleEvent[]>> {
  const out = new Map<number, LifecycleEvent[]>();
  const rows = await db.selectFrom('events').selectAll().where('account_id', '=', accountId).execute();
  for (const r of rows) push(out, num(r.load_balancer_id), toEvent(r));
  return out;
}

/** The account that owns each load balancer id, from its events. */
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
