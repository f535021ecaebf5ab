// Changes among the rollup's facts (readings, events, operators' decisions on them) since the
// rollup last read them. Whatever writes a fact notes, in the same transaction, which hours it can
// move and whose: the rollup then rolls a provisional hour again only where its facts changed,
// not the whole fleet's hour on every run (100k load balancers: 5 s an hour, two or three hours
// provisional at any time, every few minutes). A final hour is always rolled whole.
//
// Why this misses nothing, on either engine: the rollup reads the notes before it reads any fact,
// and afterwards deletes exactly the notes it read (by id, never by a bound: ids are handed out
// before commit, not in commit order). A change committed before that read has its note there,
// and its fact is seen by every later statement; one committed after keeps its note for the next
// run. Notes are new rows, so writers never wait for the rollup nor it for them.

import { chunks, type Db } from './store.ts';
import { idBatches, idIn } from './dialect/index.ts';
import { num, optNum } from './rows.ts';
import { hourOfReading } from '../domain/time.ts';

export interface FactChange {
  /** The first hour the change can move; none: any hour (an event, a decision). */
  fromHourMs?: number;
  /** Whose facts changed; none: any load balancer's (a batch of readings). */
  loadBalancerId?: number;
}

/** Notes changes (in the transaction that makes them). */
export async function noteFactChanges(db: Db, changes: FactChange[]): Promise<void> {
  const distinct = new Map(changes.map((c) => [`${c.fromHourMs ?? ''}/${c.loadBalancerId ?? ''}`, c]));
  for (const part of chunks([...distinct.values()])) {
    await db.insertInto('fact_changes').values(part.map((c) => ({ from_hour_ms: c.fromHourMs ?? null, load_balancer_id: c.loadBalancerId ?? null }))).execute();
  }
}

/** The changes noted and not yet rolled, as the rollup asks of them hour by hour. */
export class PendingChanges {
  constructor(
    readonly ids: number[],
    private readonly fleetFrom: number | undefined,
    private readonly byLoadBalancer: Map<number, number>,
  ) {}

  /** Every load balancer's facts of the hour may have changed: roll it whole. */
  fleetChangedIn(hourMs: number): boolean {
    return this.fleetFrom !== undefined && this.fleetFrom <= hourMs;
  }

  /** The load balancers whose facts of the hour may have changed. */
  loadBalancersChangedIn(hourMs: number): number[] {
    const ids: number[] = [];
    for (const [id, from] of this.byLoadBalancer) if (from <= hourMs) ids.push(id);
    return ids.sort((a, b) => a - b);
  }
}

/** Everything noted so far (read before any fact the rollup reads). */
export async function pendingFactChanges(db: Db): Promise<PendingChanges> {
  const rows = await db.selectFrom('fact_changes').select(['id', 'from_hour_ms', 'load_balancer_id']).execute();
  let fleetFrom: number | undefined;
  const byLoadBalancer = new Map<number, number>();
  for (const r of rows) {
    const from = optNum(r.from_hour_ms) ?? Number.NEGATIVE_INFINITY;
    const lbId = optNum(r.load_balancer_id);
    if (lbId === undefined) fleetFrom = Math.min(fleetFrom ?? from, from);
    else byLoadBalancer.set(lbId, Math.min(byLoadBalancer.get(lbId) ?? from, from));
  }
  return new PendingChanges(rows.map((r) => num(r.id)), fleetFrom, byLoadBalancer);
}

/** Forgets the changes a finished rollup read (those noted since stay for the next). */
export async function clearFactChanges(db: Db, ids: number[]): Promise<void> {
  for (const part of idBatches(db, ids)) await db.deleteFrom('fact_changes').where(idIn(db, 'id', part)).execute();
}

/** The change a batch of readings stamped from `earliestMs` on makes: every hour from theirs, anyone's. */
export const readingsChange = (earliestMs: number): FactChange => ({ fromHourMs: hourOfReading(earliestMs) });
