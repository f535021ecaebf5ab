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
import { chainNeighbours, linkOf, moveReading, type ReadingKey, type ReadingRow } from '../store/readings.ts';
import { moveCeilingHold } from '../store/anomalies.ts';
import { clearedBetween, goesAfter, type ChainLink } from '../domain/delta.ts';

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
  const stay = (clearedBefore: boolean): CounterPlace => ({ around, moved: [], undo: async () => {}, clearedBefore, clearedAfter });
  const higher = await higherRunBefore(look, link, around.previous);
  if (!higher) return undefined;
  const { run, before } = higher;
  if (run.length === 0) return stay(false);
  // The counters were cleared after the run was read, before this reading was.
  if (clearedBetween(before, link) && !clearedBetween(before, run[0]!.link)) return stay(true);
  // The run goes to the instants just after it: they must be free.
  if (around.same || (around.next && around.next.timeMs <= link.timeMs + run.length)) return undefined;
  const moved = run.map(({ row, link: l }, i) => {
    const to = { loadBalancerId: lbId, hostId, timeMs: link.timeMs + 1 + i };
    return { from: row.timeMs, to, link: { ...l, timeMs: to.timeMs } };
  });
  // One the ceiling holds moves with its hold (its delta is taken again from here: the hold follows it).
  const move = async (a: ReadingKey, b: ReadingKey) => {
    await moveReading(trx, a, b.timeMs);
    await moveCeilingHold(trx, a, b.timeMs);
  };
  for (const m of moved) await move({ ...m.to, timeMs: m.from }, m.to);
  return {
    around: await fromStore(link.timeMs),
    moved,
    undo: async () => {
      for (const m of moved) await move(m.to, { ...m.to, timeMs: m.from });
    },
    clearedBefore: false,
    clearedAfter,
  };
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
    if (row.hold === 'LATE' || row.operator !== 'NONE') return undefined;
    run.unshift({ row, link: rowLink });
    const before = await near(row.timeMs - 1);
    row = before.same ?? before.previous;
  }
  return { run, before: row && linkOf(row) };
}
