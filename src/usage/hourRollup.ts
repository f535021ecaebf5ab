// The records of one UTC hour, derived from the stored facts (readings and events) by the pure
// rules of domain/rollup.ts, and written back. The rollup job rolls whole hours through here; the
// hour in progress (`/usage/current`), the audit and an operator's corrections roll one load
// balancer through the same code, so they cannot disagree with the stored records.

import type { Db } from '../store/store.ts';
import { eventsOfLoadBalancers } from '../store/events.ts';
import { loadBalancerIdsAliveIn, rangesOfAliveIn } from '../store/loadBalancers.ts';
import type { IdRange } from '../store/idRange.ts';
import { loadBalancersReadIn, readingsOf, readingTotalsOf, releasedReadingsAfter, type ReadingRow } from '../store/readings.ts';
import { dropStaleHourRecords, newRollStamp, replaceHourRecords, reviseFinalRecords, writeHourRecords } from '../store/usageRecords.ts';
import { replaceRollupHolds, type NewAnomaly, type RollupHoldKind } from '../store/anomalies.ts';
import { isHourFinal, lastRolledHour } from '../store/hours.ts';
import { isOverflow, lockHours } from '../store/dialect/index.ts';
import { timeline, type TimelineStep } from '../domain/lifecycle.ts';
import { isQuietHour, lastRecordHour, lifeSpanOf, NO_TOTALS, rollupHour, rollupQuietHour, type DecidedReading, type RecordTotals, type UsageRecordDraft } from '../domain/rollup.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';
import { describeTransfers, type Transfers } from '../domain/types.ts';
import { exceedsCeiling, hasBytes, MAX_STORED_BYTES } from '../domain/delta.ts';

export interface RolledHour {
  hourMs: number;
  endMs: number;
  drafts: UsageRecordDraft[];
  /** Readings after a deletion that counted bytes: held for an operator. */
  afterDelete: { loadBalancerId: number; reading: ReadingRow }[];
  /** Traffic of frontends no CREATE names yet (SPEC 5, Containment): shown, billed once one comes. */
  unknown: { loadBalancerId: number; bytes: Transfers }[];
  /** Load balancers whose records would pass 2^63 - 1 bytes: held, with no record this hour. */
  overflowed: { loadBalancerId: number; why: string }[];
  /** Per draft (same index), the readings it took; only when asked for (the audit). */
  sources?: DecidedReading[][];
}

export interface RollFilter {
  /** Only these load balancers (the hour in progress of one, a correction, the audit). */
  loadBalancerIds?: number[];
  /** Only ids in this range, as the whole fleet would be rolled (a slice of rollFleetHour). */
  idRange?: IdRange;
  /** Keep each draft's readings (the audit). */
  withSources?: boolean;
}

/**
 * Drafts for every load balancer alive in [hourMs, endMs), endMs being the hour's end or, for
 * the hour in progress, now; and the holds of readings that came after a deletion. An end past
 * the hour's is the hour's: the creation hour reads from before the CREATE up to the end, so a
 * later end would bill the next hour's bytes in this one too.
 */
export async function rollHour(db: Db, hourMs: number, untilMs: number, filter: RollFilter = {}): Promise<RolledHour> {
  const endMs = Math.min(untilMs, hourMs + HOUR_MS);
  const only = filter.loadBalancerIds;
  // Most load balancers have a quiet hour: their records come from totals the store sums. The
  // others (an event in the hour, or a deletion whose last record ends in it) get their readings.
  let alive: number[];
  let totals: Map<number, RecordTotals>;
  let overflowed: RolledHour['overflowed'] = [];
  let events: Awaited<ReturnType<typeof eventsOfLoadBalancers>>;
  if (only) {
    // Given load balancers (a tenant's /usage/current): which were alive, their totals and their
    // events, all at once (one wait, not three).
    [alive, { totals, overflowed }, events] = await Promise.all([
      loadBalancerIdsAliveIn(db, hourMs, hourMs + HOUR_MS, { ids: only }),
      filter.withSources ? { totals: new Map<number, RecordTotals>(), overflowed: [] } : containedTotals(db, only, hourMs, endMs),
      eventsOfLoadBalancers(db, only),
    ]);
  } else {
    // The whole fleet (or a range of its ids): the totals say which load balancers had readings,
    // dead ones among them.
    alive = await loadBalancerIdsAliveIn(db, hourMs, hourMs + HOUR_MS, { range: filter.idRange });
    ({ totals, overflowed } = await containedTotals(db, undefined, hourMs, endMs, filter.idRange));
    events = await eventsOfLoadBalancers(db, [...new Set([...alive, ...totals.keys(), ...overflowed.map((o) => o.loadBalancerId)])]);
  }
  const held = new Set(overflowed.map((o) => o.loadBalancerId));
  const aliveSet = new Set(alive);
  // Readings of load balancers not alive in the hour: after their deletion, or never created.
  const dead = (only ?? [...totals.keys()]).filter((id) => !aliveSet.has(id) && !held.has(id));
  const steps = new Map<number, TimelineStep[]>();
  for (const [id, lbEvents] of events) steps.set(id, timeline(lbEvents));

  const quiet: number[] = [];
  const fromCreation: number[] = [];
  const withinHour: number[] = [];
  const lastRecordHere: number[] = [];
  for (const id of alive) {
    const lbSteps = steps.get(id);
    if (!lbSteps?.length || held.has(id)) continue;
    const life = lifeSpanOf(lbSteps);
    const lastOpenHere = lastRecordHour(life) === hourMs;
    if (lastOpenHere) lastRecordHere.push(id);
    if (isQuietHour(lbSteps, hourMs, endMs) && !lastOpenHere && !filter.withSources) quiet.push(id);
    else (floorHour(life.createdMs!) === hourMs ? fromCreation : withinHour).push(id);
  }
  const deleted = dead.filter((id) => lifeSpanOf(steps.get(id) ?? []).deletedMs !== undefined);
  const readings = merge(...await Promise.all([
    readingsOf(db, [...withinHour, ...deleted], hourMs, endMs),
    // The first record also takes readings from before the CREATE.
    readingsOf(db, fromCreation, undefined, endMs),
    // Bytes after a deletion that an operator released go in the last record.
    releasedReadingsAfter(db, lastRecordHere, endMs),
  ]));

  const rolled: RolledHour = { hourMs, endMs, drafts: [], afterDelete: [], unknown: [], overflowed };
  if (filter.withSources) rolled.sources = [];
  for (const id of quiet) rolled.drafts.push(...rollupQuietHour(steps.get(id)!, hourMs, totals.get(id) ?? NO_TOTALS, endMs));
  for (const id of [...withinHour, ...fromCreation, ...deleted]) {
    const hour = rollupHour(steps.get(id)!, hourMs, readings.get(id) ?? [], endMs);
    rolled.drafts.push(...hour.records);
    rolled.sources?.push(...hour.sources);
    for (const reading of hour.afterDelete) rolled.afterDelete.push({ loadBalancerId: id, reading: reading as ReadingRow });
  }
  // No CREATE names these frontends (yet): their bytes bill once one comes (SPEC 5).
  for (const id of dead) if (!steps.has(id)) rolled.unknown.push({ loadBalancerId: id, bytes: totals.get(id) ?? NO_TOTALS });
  holdOverflowingRecords(rolled);
  return rolled;
}

/**
 * The store's totals of the hour, with the load balancers whose sums pass what an integer holds
 * left out and named: one such load balancer must not stop the fleet's rollup (SPEC 5,
 * Containment). Only then are the totals asked for one load balancer at a time, to find them.
 */
async function containedTotals(db: Db, lbIds: number[] | undefined, hourMs: number, endMs: number, range?: IdRange): Promise<{ totals: Map<number, RecordTotals>; overflowed: RolledHour['overflowed'] }> {
  try {
    return { totals: await readingTotalsOf(db, lbIds, hourMs, endMs, range), overflowed: [] };
  } catch (err) {
    if (!isOverflow(db, err)) throw err;
  }
  const totals = new Map<number, RecordTotals>();
  const overflowed: RolledHour['overflowed'] = [];
  for (const id of await loadBalancersReadIn(db, lbIds, hourMs, endMs, range)) {
    try {
      for (const [lbId, t] of await readingTotalsOf(db, [id], hourMs, endMs)) totals.set(lbId, t);
    } catch (err) {
      if (!isOverflow(db, err)) throw err;
      overflowed.push({ loadBalancerId: id, why: 'its readings of the hour sum past 2^63 - 1 bytes in a counter' });
    }
  }
  return { totals, overflowed };
}

/** A load balancer with a draft past 2^63 - 1 bytes gets no record this hour: held instead. */
function holdOverflowingRecords(rolled: RolledHour): void {
  const over = new Map<number, UsageRecordDraft>();
  for (const d of rolled.drafts) if (exceedsCeiling(d, MAX_STORED_BYTES) && !over.has(d.loadBalancerId)) over.set(d.loadBalancerId, d);
  if (over.size === 0) return;
  const keep = rolled.drafts.map((d) => !over.has(d.loadBalancerId));
  rolled.drafts = rolled.drafts.filter((_, i) => keep[i]);
  if (rolled.sources) rolled.sources = rolled.sources.filter((_, i) => keep[i]);
  for (const [id, d] of over) rolled.overflowed.push({ loadBalancerId: id, why: `its record from ${new Date(d.startMs).toISOString()} would carry ${describeTransfers(d)}` });
}

function merge(...maps: Map<number, ReadingRow[]>[]): Map<number, ReadingRow[]> {
  const out = new Map<number, ReadingRow[]>();
  for (const map of maps) for (const [id, list] of map) out.set(id, [...(out.get(id) ?? []), ...list]);
  return out;
}

/** Load balancers a slice of a fleet's hour: its records and their facts in memory at once. */
export const FLEET_SLICE = 10_000;

/**
 * Rolls the whole fleet's hour and writes it (provisional, or final at the end of the grace
 * period), a slice of `sliceSize` live load balancers at a time (ranges of ids: store/idRange.ts)
 * so that memory holds one slice's events, readings and records, not the fleet's (an hour of 100k
 * load balancers rolled at once: 186 MB of heap). Every slice writes with the roll's one stamp;
 * what none wrote goes at the end, and the holds of all slices are written together. Runs in the
 * caller's transaction: the hour changes whole or not at all. Returns the records written.
 */
export async function rollFleetHour(trx: Db, hourMs: number, options: { final: boolean; nowMs?: number; sliceSize?: number }): Promise<number> {
  const stamp = newRollStamp();
  const holds: RolledHour = { hourMs, endMs: hourMs + HOUR_MS, drafts: [], afterDelete: [], unknown: [], overflowed: [] };
  let records = 0;
  for (const idRange of await rangesOfAliveIn(trx, hourMs, hourMs + HOUR_MS, options.sliceSize ?? FLEET_SLICE)) {
    const rolled = await rollHour(trx, hourMs, hourMs + HOUR_MS, { idRange });
    await writeHourRecords(trx, hourMs, rolled.drafts, { final: options.final, stamp, idRange });
    records += rolled.drafts.length;
    holds.afterDelete.push(...rolled.afterDelete);
    holds.unknown.push(...rolled.unknown);
    holds.overflowed.push(...rolled.overflowed);
  }
  await dropStaleHourRecords(trx, hourMs, stamp);
  await writeHolds(trx, holds, undefined, options.nowMs);
  return records;
}

/** A provisional hour rolled again for these load balancers only (their facts changed), as the whole fleet's roll would make them. */
export async function rollLoadBalancersOfHour(trx: Db, hourMs: number, loadBalancerIds: number[], nowMs?: number): Promise<number> {
  const rolled = await rollHour(trx, hourMs, hourMs + HOUR_MS, { loadBalancerIds });
  await writeRolledHour(trx, rolled, { final: false, loadBalancerIds, nowMs });
  return rolled.drafts.length;
}

/** Writes a rolled hour: its records (provisional, or final at the end of the grace period) and holds. */
export async function writeRolledHour(trx: Db, rolled: RolledHour, options: { final: boolean; loadBalancerIds?: number[]; nowMs?: number }): Promise<void> {
  await replaceHourRecords(trx, rolled.hourMs, rolled.drafts, { final: options.final, stamp: newRollStamp(), loadBalancerIds: options.loadBalancerIds });
  await writeHolds(trx, rolled, options.loadBalancerIds, options.nowMs);
}

async function writeHolds(trx: Db, rolled: RolledHour, lbIds: number[] | undefined, nowMs?: number): Promise<void> {
  const { hourMs } = rolled;
  const afterDelete: NewAnomaly[] = rolled.afterDelete.map(({ loadBalancerId, reading }) => ({
    kind: 'SAMPLE_AFTER_DELETE', timeMs: reading.timeMs, loadBalancerId, hostId: reading.hostId,
    detail: `${describeTransfers(reading)} after the load balancer's deletion`, held: reading,
  }));
  await replaceRollupHolds(trx, 'SAMPLE_AFTER_DELETE', hourMs, hourMs + HOUR_MS, afterDelete, lbIds, nowMs);
  // Held at the hour's start: one a load balancer and hour.
  const atHour = (kind: RollupHoldKind, holds: NewAnomaly[]) => replaceRollupHolds(trx, kind, hourMs - 1, hourMs, holds, lbIds, nowMs);
  await atHour('UNKNOWN_LOAD_BALANCER', rolled.unknown.filter((u) => hasBytes(u.bytes)).map(({ loadBalancerId, bytes }) => ({
    kind: 'UNKNOWN_LOAD_BALANCER', timeMs: hourMs, loadBalancerId,
    detail: `${describeTransfers(bytes)} on frontends of a load balancer no CREATE_LOADBALANCER names; billed once one comes`, held: bytes,
  })));
  await atHour('RECORD_OVERFLOW', rolled.overflowed.map(({ loadBalancerId, why }) => ({
    kind: 'RECORD_OVERFLOW', timeMs: hourMs, loadBalancerId, detail: `no record this hour: ${why}, more than a record can carry`,
  })));
}

/**
 * Rolls these hours again for one load balancer after an operator's decision changed its facts:
 * a provisional hour as the rollup would, a final one as a correction (new revisions of what
 * billing has seen). Hours not rolled up yet are left to the rollup.
 */
export async function rerollLoadBalancer(trx: Db, lbId: number, hours: Iterable<number>, nowMs?: number): Promise<{ revised: number }> {
  const touched = [...new Set(hours)].sort((a, b) => a - b);
  // Serialised with finalisation as ingest is (SPEC 5): an hour being made final now is waited
  // for, and none becomes final between the check below and the write that depends on it.
  await lockHours(trx, touched, 'shared');
  const lastRolled = await lastRolledHour(trx);
  let revised = 0;
  for (const hourMs of touched) {
    if (lastRolled === undefined || hourMs > lastRolled) continue;
    const rolled = await rollHour(trx, hourMs, hourMs + HOUR_MS, { loadBalancerIds: [lbId] });
    if (await isHourFinal(trx, hourMs)) {
      revised += (await reviseFinalRecords(trx, hourMs, [lbId], rolled.drafts)).revised;
      await writeHolds(trx, rolled, [lbId], nowMs);
    } else await writeRolledHour(trx, rolled, { final: false, loadBalancerIds: [lbId], nowMs });
  }
  return { revised };
}

/** Every hour from fromMs through the last rolled one (a released event reaches them all). */
export async function hoursRolledFrom(db: Db, fromMs: number): Promise<number[]> {
  const last = await lastRolledHour(db);
  const hours: number[] = [];
  if (last !== undefined) for (let h = floorHour(fromMs); h <= last; h += HOUR_MS) hours.push(h);
  return hours;
}
