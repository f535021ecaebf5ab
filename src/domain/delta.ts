// Counter readings to exact byte deltas by the reset rule alone (SPEC 5, Deltas). One load
// balancer on one host has two counter groups, plain and SSL (two HAProxy frontends); each resets
// on its own. Nothing here knows about lifecycle events: what a delta bills is decided at rollup
// (domain/reading.ts), so that a reading stores the same facts whatever arrived before it.

import type { Transfers } from './types.ts';

/** Raw counters of the reading before this one on the same host (in time, not in arrival). */
export interface ChainLink extends Transfers {
  processKey: string;
  timeMs: number;
}

/**
 * FIRST: no earlier reading of the load balancer on this host; NORMAL: current minus previous;
 * RESET: a new process, or a counter went down, so the counters count from the restart.
 * HOURLY: not a reading but the sum of a host's billed readings of one hour, kept once raw
 * readings are compacted (store/compaction.ts); the reset rule never gives it.
 */
export const READING_KINDS = ['NORMAL', 'FIRST', 'RESET', 'HOURLY'] as const;
export type ReadingKind = (typeof READING_KINDS)[number];

export interface ChainDelta extends Transfers {
  kind: ReadingKind;
}

/** The delta of `current` after `previous` (undefined: the first reading on this host). */
export function chainDelta(previous: ChainLink | undefined, current: Transfers, processKey: string): ChainDelta {
  if (!previous) return { kind: 'FIRST', bytesIn: current.bytesIn, bytesOut: current.bytesOut, bytesInSsl: current.bytesInSsl, bytesOutSsl: current.bytesOutSsl };
  const restarted = previous.processKey !== processKey;
  const plainReset = restarted || current.bytesIn < previous.bytesIn || current.bytesOut < previous.bytesOut;
  const sslReset = restarted || current.bytesInSsl < previous.bytesInSsl || current.bytesOutSsl < previous.bytesOutSsl;
  return {
    kind: plainReset || sslReset ? 'RESET' : 'NORMAL',
    bytesIn: plainReset ? current.bytesIn : current.bytesIn - previous.bytesIn,
    bytesOut: plainReset ? current.bytesOut : current.bytesOut - previous.bytesOut,
    bytesInSsl: sslReset ? current.bytesInSsl : current.bytesInSsl - previous.bytesInSsl,
    bytesOutSsl: sslReset ? current.bytesOutSsl : current.bytesOutSsl - previous.bytesOutSsl,
  };
}

/** Every counter of `a` at least the same counter of `b`. */
export function countersAtLeast(a: Transfers, b: Transfers): boolean {
  return a.bytesIn >= b.bytesIn && a.bytesOut >= b.bytesOut && a.bytesInSsl >= b.bytesInSsl && a.bytesOutSsl >= b.bytesOutSsl;
}

export function countersEqual(a: Transfers, b: Transfers): boolean {
  return a.bytesIn === b.bytesIn && a.bytesOut === b.bytesOut && a.bytesInSsl === b.bytesInSsl && a.bytesOutSsl === b.bytesOutSsl;
}

/**
 * How far apart two readings of one process may be stamped and still be ordered by their
 * counters rather than their stamps: two pollers may each be a second off the store's clock
 * (ingest/clockSkew.ts), an agent's clock more, and a stamp is taken when a read ends, which a
 * slow host or store delays. Farther apart, the stamps order them (a counter that went down is
 * then a reset of the frontend, as HAProxy's `clear counters all` makes one).
 */
export const COUNTER_ORDER_WINDOW_MS = 15_000;

/** Two readings of one process stamped close enough together for their counters to order them. */
export function orderedByCounters(a: ChainLink, b: ChainLink): boolean {
  return a.processKey === b.processKey && Math.abs(a.timeMs - b.timeMs) <= COUNTER_ORDER_WINDOW_MS;
}

/**
 * The counters of one process went down from `earlier` to `later`, taken in that order: only a
 * clear does that (HAProxy's `clear counters all`). A reset there is a fact, not a clock's error,
 * and no order by counters can avoid it: the stamps then order the readings around it.
 */
export function clearedBetween(earlier: ChainLink | undefined, later: ChainLink): boolean {
  return earlier !== undefined && earlier.processKey === later.processKey && !countersAtLeast(later, earlier);
}

/**
 * `later` goes after `earlier` by their counters: stamped close together by one process, and
 * higher (none below, one above). The lower counters keep their stamp, the higher go after.
 */
export function goesAfter(later: ChainLink, earlier: ChainLink): boolean {
  return orderedByCounters(later, earlier) && countersAtLeast(later, earlier) && !countersEqual(later, earlier);
}

/**
 * Where a reading stands beside the host's newest reading (SPEC 5, Order of readings). Within
 * one process the counters never go down, so they order its readings, not the clocks of the
 * processes that read them: of two readings stamped close together, the one with the lower
 * counters keeps its stamp and the higher one goes just after it, whichever arrived first, so
 * the chain is the same in any arrival order. Equal counters say nothing of order (no byte
 * between them): the stamps keep it. Readings of another process, or stamped farther apart
 * than the window, are ordered by their stamps. `older`: it goes into the chain before the
 * newest, or under it (the newest, higher, then moves after it: ingest/samples.ts placeInChain).
 */
export function placeByCounters(newest: ChainLink | undefined, current: Transfers, processKey: string, timeMs: number): { timeMs: number; older: boolean } {
  if (!newest) return { timeMs, older: false };
  // goesAfter written out: this runs for every reading of a poll, and a spread copy of the
  // reading here is V8's slow path (samples.ts).
  const close = newest.processKey === processKey && Math.abs(newest.timeMs - timeMs) <= COUNTER_ORDER_WINDOW_MS;
  const same = close && countersEqual(current, newest);
  if (close && !same && countersAtLeast(current, newest)) return { timeMs: Math.max(timeMs, newest.timeMs + 1), older: false };
  return { timeMs, older: timeMs <= newest.timeMs || (close && !same && countersAtLeast(newest, current)) };
}

/** What a stored byte count (SQL bigint) holds: a delta or a record past it cannot be stored (SPEC 3). */
export const MAX_STORED_BYTES = 2n ** 63n - 1n;

export function exceedsCeiling(d: Transfers, ceiling: bigint): boolean {
  return d.bytesIn > ceiling || d.bytesOut > ceiling || d.bytesInSsl > ceiling || d.bytesOutSsl > ceiling;
}

export function hasBytes(d: Transfers): boolean {
  return d.bytesIn + d.bytesOut + d.bytesInSsl + d.bytesOutSsl > 0n;
}

export const NO_BYTES: Transfers = Object.freeze({ bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n });

export const addTransfers = (a: Transfers, b: Transfers): Transfers => ({
  bytesIn: a.bytesIn + b.bytesIn, bytesOut: a.bytesOut + b.bytesOut, bytesInSsl: a.bytesInSsl + b.bytesInSsl, bytesOutSsl: a.bytesOutSsl + b.bytesOutSsl,
});

export const subtractTransfers = (a: Transfers, b: Transfers): Transfers => ({
  bytesIn: a.bytesIn - b.bytesIn, bytesOut: a.bytesOut - b.bytesOut, bytesInSsl: a.bytesInSsl - b.bytesInSsl, bytesOutSsl: a.bytesOutSsl - b.bytesOutSsl,
});
