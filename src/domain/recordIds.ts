// Usage record ids (SPEC 3): 32-bit on the wire, one per record, never consumed by an update and
// never reused while a client may hold one. No store-wide sequence can do that: a 1M-load-balancer
// fleet makes 24M records a day and would pass 2^31 - 1 in 89 days. So an id names a record within
// its load balancer (clients always see the two together): it is derived from the record's UTC
// hour and a slot in that hour, so every record of one load balancer in one hour has an id of
// that hour's range, and two hours never share an id until the ranges wrap.
//
//   id = base + 1 + (hour index mod period) * 240 + slot
//
// hour index: hours since 1970-01-01T00Z; slot: 0..239, preferably the record's start's
// half-minute in the hour (doubled, plus one for the zero-length record a DELETE leaves), else the
// next free one. base: the largest id a store held before this scheme (0 for a new store), so old
// and new ids never meet. period = floor((2^31 - 1 - base) / 240) hours: for a new store
// 8,947,848 hours, about 1,020 years (the ids wrap in the year 2990, whatever the fleet's size).
// A load balancer with more than 240 records in one hour (an event every 15 seconds) is refused.

import { HOUR_MS } from './time.ts';

export const MAX_RECORD_ID = 2 ** 31 - 1;
export const RECORD_SLOTS_PER_HOUR = 240;
const SLOT_MS = HOUR_MS / (RECORD_SLOTS_PER_HOUR / 2);

/** Hours before the ids of a store with this base wrap (and an hour's ids are used again). */
export function recordIdPeriodHours(base: number): number {
  return Math.floor((MAX_RECORD_ID - base) / RECORD_SLOTS_PER_HOUR);
}

/** The first id of an hour's range. */
export function firstRecordIdOf(base: number, hourMs: number): number {
  const period = recordIdPeriodHours(base);
  const index = Math.floor(hourMs / HOUR_MS);
  return base + 1 + (((index % period) + period) % period) * RECORD_SLOTS_PER_HOUR;
}

/** The slot a record would take in its hour if it is free. */
export function preferredSlot(r: { hourMs: number; startMs: number; closing: boolean }): number {
  const half = Math.min(Math.floor((r.startMs - r.hourMs) / SLOT_MS), RECORD_SLOTS_PER_HOUR / 2 - 1);
  return Math.max(half, 0) * 2 + (r.closing ? 1 : 0);
}

export class RecordIdsExhausted extends Error {
  constructor(readonly loadBalancerId: number, readonly hourMs: number) {
    super(`load balancer ${loadBalancerId} has more than ${RECORD_SLOTS_PER_HOUR} usage records in the hour of ${new Date(hourMs).toISOString()}`);
  }
}

/**
 * An id for a new record of one load balancer in one hour: its preferred slot, else the next free
 * one of the hour's range. `taken`: the ids that load balancer's records of that hour hold; the
 * new id is added to it.
 */
export function allocateRecordId(base: number, r: { loadBalancerId: number; hourMs: number; startMs: number; closing: boolean }, taken: Set<number>): number {
  const first = firstRecordIdOf(base, r.hourMs);
  const preferred = preferredSlot(r);
  for (let i = 0; i < RECORD_SLOTS_PER_HOUR; i++) {
    const id = first + ((preferred + i) % RECORD_SLOTS_PER_HOUR);
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
  throw new RecordIdsExhausted(r.loadBalancerId, r.hourMs);
}

/** The calendar year in which the ids of a store with this base first wrap. */
export function recordIdWrapYear(base: number): number {
  return new Date(recordIdPeriodHours(base) * HOUR_MS).getUTCFullYear();
}
