// Where a reading goes among its host's stored readings when clocks and counters disagree (SPEC 5,
// Order of readings): among readings of one process stamped close together, the lower counters
// keep their stamp and the higher go just after (domain/delta.ts goesAfter). Used by ingest for a
// reading that arrived out of order, and by an operator's release of a late reading: the chain is
// then the same whatever arrived, or was released, first.

import type { Db } from '../store/store.ts';
import { chainNeighbours, linkOf, moveReading, type ReadingKey } from '../store/readings.ts';
import { moveCeilingHold } from '../store/anomalies.ts';
import { goesAfter, type ChainLink } from '../domain/delta.ts';

export type Neighbours = Awaited<ReturnType<typeof chainNeighbours>>;

export interface CounterPlace {
  /** The reading's neighbours at its place (its stamp may have moved: `link.timeMs`). */
  around: Neighbours;
  /** A higher reading stamped before it, moved to just after it: where it was, where it is now. */
  moved?: { from: number; to: ReadingKey; link: ChainLink };
  /** Puts the moved reading back (the place was refused after all). */
  undo(): Promise<void>;
}

/**
 * Moves `link` past lower readings stamped after it, and a higher reading stamped just before it
 * to just after it (not one an operator decided or one held as late). Undefined: a higher
 * reading that cannot move.
 */
export async function placeAmongNeighbours(trx: Db, hostId: number, lbId: number, link: ChainLink): Promise<CounterPlace | undefined> {
  const neighbours = () => chainNeighbours(trx, hostId, lbId, link.timeMs);
  let around = await neighbours();
  // Past lower readings at or after its stamp (one at its very instant too).
  const lowerAhead = () => {
    const ahead = around.same ?? around.next;
    const aheadLink = ahead && linkOf(ahead);
    return aheadLink && goesAfter(link, aheadLink) ? aheadLink : undefined;
  };
  for (let ahead = lowerAhead(); ahead; ahead = lowerAhead()) {
    link.timeMs = ahead.timeMs + 1;
    around = await neighbours();
  }
  const higher = around.previous;
  const higherLink = higher && linkOf(higher);
  if (!higher || !higherLink || !goesAfter(higherLink, link)) return { around, undo: async () => {} };
  // A reading an operator decided, or one held as late, stays where it is; one the ceiling holds
  // moves with its hold (its delta is taken again from here: the hold follows it).
  if (higher.hold === 'LATE' || higher.operator !== 'NONE' || around.same || around.next?.timeMs === link.timeMs + 1) return undefined;
  const to = { loadBalancerId: lbId, hostId, timeMs: link.timeMs + 1 };
  const from = { ...to, timeMs: higher.timeMs };
  const move = async (a: ReadingKey, b: ReadingKey) => {
    await moveReading(trx, a, b.timeMs);
    await moveCeilingHold(trx, a, b.timeMs);
  };
  await move(from, to);
  return {
    around: await neighbours(),
    moved: { from: higher.timeMs, to, link: { ...higherLink, timeMs: to.timeMs } },
    undo: () => move(to, from),
  };
}
