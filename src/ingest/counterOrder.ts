// Where a reading goes among its host's stored readings when clocks and counters disagree (SPEC 5,
// Order of readings): among readings of one process stamped close together, the lower counters
// keep their stamp and the higher go just after (domain/delta.ts goesAfter). Used by ingest for a
// reading that arrived out of order, and by an operator's release of a late reading: the chain is
// then the same whatever arrived, or was released, first.
//
// Counters order readings only where that avoids a reset. Where a reset is there whichever way
// they go (the counters were cleared: they are below a reading before all of them), the stamps
// order them and the reset is the clear's: otherwise the readings from before a clear would move
// after every later reading stamped within the window, and bill their counters again.

import type { Db } from '../store/store.ts';
import { chainNeighbours, linkOf, moveReading, recentChainReadings, type ReadingKey, type ReadingRow } from '../store/readings.ts';
import { moveCeilingHold } from '../store/anomalies.ts';
import { isHourFinal } from '../store/hours.ts';
import { clearedBetween, goesAfter, type ChainLink } from '../domain/delta.ts';
import { hourOfReading } from '../domain/time.ts';

export type Neighbours = Awaited<ReturnType<typeof chainNeighbours>>;

/** One (host, load balancer)'s chain around an instant: where placing a reading looks. */
export type NeighboursAt = (timeMs: number) => Promise<Neighbours>;

/**
 * Neighbours from readings read ahead for a slice (its load balancer's chain from fromMs to toMs,
 * in time order: store/readings.ts recentChainReadings), or from the store where those cannot
 * tell: an instant outside them, one with none of them at or before it, or none after it while
 * the chain may go on past toMs.
 */
export function neighboursIn(readings: readonly ReadingRow[], fromMs: number, toMs: number, fromStore: NeighboursAt): NeighboursAt {
  return async (t) => {
    if (t < fromMs || t >= toMs) return fromStore(t);
    // The first reading stamped after t.
    let lo = 0;
    let hi = readings.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (readings[mid]!.timeMs <= t) lo = mid + 1;
      else hi = mid;
    }
    const atOrBefore = readings[lo - 1];
    const next = readings[lo];
    if (!atOrBefore || (!next && toMs !== Infinity)) return fromStore(t);
    return { ...(atOrBefore.timeMs === t ? { same: atOrBefore } : { previous: atOrBefore }), ...(next ? { next } : {}) };
  };
}

export interface MovedReading {
  /** Where it was. */
  from: number;
  /** Where it is now. */
  to: ReadingKey;
  link: ChainLink;
}

export interface CounterPlace {
  /** The reading's neighbours at its place (its stamp may have moved: `link.timeMs`). */
  around: Neighbours;
  /** Higher readings stamped before it, moved in their order to just after it. */
  moved: MovedReading[];
  /** Puts the moved readings back (the place was refused after all). */
  undo(): Promise<void>;
  /**
   * The counters were cleared just before it: it stays after the higher readings stamped before
   * it, and counts from zero (a reset).
   */
  clearedBefore: boolean;
  /** The counters were cleared just after it: the lower reading after it counts from zero. */
  clearedAfter: boolean;
}

/**
 * Moves `link` past lower readings stamped after it, and every higher reading stamped just
 * before it (a run: two readers' readings may both be) to just after it, in their order. Not one
 * an operator decided or one held as late. Undefined: a higher reading that cannot move.
 * `near`: where it looks until it moves a reading (the store itself by default).
 */
export async function placeAmongNeighbours(trx: Db, hostId: number, lbId: number, link: ChainLink, near?: NeighboursAt): Promise<CounterPlace | undefined> {
  const fromStore: NeighboursAt = (t) => chainNeighbours(trx, hostId, lbId, t);
  const look = near ?? fromStore;
  const neighbours = () => look(link.timeMs);
  let around = await neighbours();
  let clearedAfter = false;
  // Past lower readings at or after its stamp (one at its very instant too), but not past one
  // read after a clear that it was read before.
  const lowerAhead = () => {
    const ahead = around.same ?? around.next;
    const aheadLink = ahead && linkOf(ahead);
    if (!aheadLink || !goesAfter(link, aheadLink)) return undefined;
    const previousLink = around.previous && linkOf(around.previous);
    clearedAfter = clearedBetween(previousLink, aheadLink) && !clearedBetween(previousLink, link);
    return clearedAfter ? undefined : aheadLink;
  };
  for (let ahead = lowerAhead(); ahead; ahead = lowerAhead()) {
    link.timeMs = ahead.timeMs + 1;
    around = await neighbours();
  }
  // Just past a lower reading, a higher one may hold the instant (placed there by its counters):
  // this one goes between them, and that one, with those right after it, a millisecond on.
  const shifted = around.same ? await makeRoom(trx, look, hostId, lbId, link, around.same) : [];
  if (!shifted) return undefined;
  if (shifted.length > 0) around = await fromStore(link.timeMs);
  const unshift = async () => {
    for (const m of shifted) await move(trx, m.to, { ...m.to, timeMs: m.from });
  };
  const stay = (clearedBefore: boolean): CounterPlace => ({ around, moved: shifted, undo: unshift, clearedBefore, clearedAfter });
  const refuse = async () => {
    await unshift();
    return undefined;
  };
  const higher = await higherRunBefore(look, link, around.previous);
  if (!higher) return refuse();
  const { run, before } = higher;
  if (run.length === 0) return stay(false);
  // The counters were cleared after the run was read, before this reading was.
  if (clearedBetween(before, link) && !clearedBetween(before, run[0]!.link)) return stay(true);
  // The run goes to the instants just after it: they must be free.
  if (around.same || (around.next && around.next.timeMs <= link.timeMs + run.length)) return refuse();
  const moved = run.map(({ row, link: l }, i) => {
    const to = { loadBalancerId: lbId, hostId, timeMs: link.timeMs + 1 + i };
    return { from: row.timeMs, to, link: { ...l, timeMs: to.timeMs } };
  });
  for (const m of moved) await move(trx, { ...m.to, timeMs: m.from }, m.to);
  return {
    around: await fromStore(link.timeMs),
    moved: [...shifted, ...moved],
    undo: async () => {
      for (const m of moved) await move(trx, m.to, { ...m.to, timeMs: m.from });
      await unshift();
    },
    clearedBefore: false,
    clearedAfter,
  };
}

/**
 * `link` goes at the instant `same` holds, and `same` is higher: it and the higher readings at
 * the instants right after it move a millisecond on, the last first. Empty: `same` is not
 * higher (the instant is simply taken); undefined: one of them an operator decided or held as
 * late, or no instant free after them.
 */
async function makeRoom(trx: Db, near: NeighboursAt, hostId: number, lbId: number, link: ChainLink, same: ReadingRow): Promise<MovedReading[] | undefined> {
  const run: { row: ReadingRow; link: ChainLink }[] = [];
  let row: ReadingRow | undefined = same;
  while (row && row.timeMs === link.timeMs + run.length) {
    const rowLink = linkOf(row);
    if (!rowLink || !goesAfter(rowLink, link)) break;
    if (heldInPlace(row)) return undefined;
    run.push({ row, link: rowLink });
    row = (await near(row.timeMs)).next;
  }
  if (run.length === 0) return [];
  if (row && row.timeMs === link.timeMs + run.length) return undefined;
  const moved = run.map(({ row: r, link: l }) => ({ from: r.timeMs, to: { loadBalancerId: lbId, hostId, timeMs: r.timeMs + 1 }, link: { ...l, timeMs: r.timeMs + 1 } }));
  for (const m of [...moved].reverse()) await move(trx, { ...m.to, timeMs: m.from }, m.to);
  return moved;
}

/**
 * The readings stamped just before `link` whose counters put them after it, oldest first, and
 * the reading before them. Undefined: one of them an operator decided, or one held as late,
 * which stays where it is.
 */
async function higherRunBefore(near: NeighboursAt, link: ChainLink, previous: Neighbours['previous']) {
  const run: { row: NonNullable<Neighbours['previous']>; link: ChainLink }[] = [];
  let row = previous;
  while (row) {
    const rowLink = linkOf(row);
    if (!rowLink || !goesAfter(rowLink, link)) break;
    if (heldInPlace(row)) return undefined;
    run.unshift({ row, link: rowLink });
    const before = await near(row.timeMs - 1);
    row = before.same ?? before.previous;
  }
  return { run, before: row && linkOf(row) };
}

/** One an operator decided, or one held as late: ingest neither moves it nor sets its hold. */
export const heldInPlace = (row: ReadingRow): boolean => row.hold === 'LATE' || row.operator !== 'NONE';

/** One the ceiling holds moves with its hold (its delta is taken again from there: the hold follows it). */
async function move(trx: Db, from: ReadingKey, to: ReadingKey): Promise<void> {
  await moveReading(trx, from, to.timeMs);
  await moveCeilingHold(trx, from, to.timeMs);
}

/** A stretch of a chain in its new order, each reading at its new instant (`link.timeMs`); no row: the reading being placed. */
export interface ReturnedReadings {
  chain: { row?: ReadingRow; link: ChainLink; movedFrom?: number }[];
  /** Moves the readings that go back to the instants they were read at. */
  apply(): Promise<void>;
}

/**
 * A placement made before a clear of the counters was known, taken back once it is. Readings
 * higher than the first one after a clear and stamped within the window before it were placed
 * after it by their counters while no reading before them said otherwise (counters alone cannot
 * tell a clear from a clock). Once the chain holds `before` and, next to it, `cleared` (the
 * counters fell from one to the other), the readings stamped between the two and not below
 * `before` were read before that clear: they go back to the stamps they were read at, as if they
 * had arrived in order. The chain from them on in its new order, to its end; undefined where
 * none does (one an operator decided, one held as late, or one whose stamp is in a final hour
 * stays where it is). The caller takes its deltas again.
 */
export async function returnReadBeforeClear(trx: Db, hostId: number, lbId: number, before: ChainLink, cleared: { link: ChainLink; row?: ReadingRow }): Promise<ReturnedReadings | undefined> {
  const clearMs = cleared.link.timeMs;
  if (!clearedBetween(before, cleared.link)) return undefined;
  // To the chain's end: with no reading before them, such readings float after every later one
  // within the window of where they were placed, as long as nothing shows the clear.
  const after = (await recentChainReadings(trx, hostId, [lbId], clearMs + 1)).get(lbId) ?? [];
  const readBefore = (r: ReadingRow) => {
    const l = linkOf(r);
    return r.readMs !== undefined && r.readMs > before.timeMs && r.readMs < clearMs && l !== undefined && l.processKey === before.processKey
      && !clearedBetween(before, l) && !heldInPlace(r);
  };
  const back: ReadingRow[] = [];
  for (const r of after.filter(readBefore)) {
    const hour = hourOfReading(r.readMs!);
    if (hour === hourOfReading(r.timeMs) || !(await isHourFinal(trx, hour))) back.push(r);
  }
  if (back.length === 0) return undefined;
  const staying = after.filter((r) => !back.includes(r));
  // A delta is taken only between readings that keep their counters (compacted rows do not).
  if (staying.some((r) => !linkOf(r))) return undefined;
  return {
    chain: [
      ...back.sort((a, b) => a.readMs! - b.readMs!).map((row) => ({ row, link: { ...linkOf(row)!, timeMs: row.readMs! }, movedFrom: row.timeMs })),
      cleared,
      ...staying.map((row) => ({ row, link: linkOf(row)! })),
    ],
    apply: async () => {
      for (const r of back) await move(trx, { loadBalancerId: lbId, hostId, timeMs: r.timeMs }, { loadBalancerId: lbId, hostId, timeMs: r.readMs! });
    },
  };
}
