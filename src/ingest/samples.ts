// Counter samples to stored readings (SPEC 5, Deltas), the one path for pushed and polled
// counters. Ingest stores facts only: each reading with its process and raw counters, and its
// delta by the reset rule from the reading before it on the same host, in time. What a reading
// bills depends on lifecycle events and is decided at rollup (domain/reading.ts).
//
// The sample key is claimed in the same transaction that stores the readings, so a retry can
// neither count twice nor be dropped; the sample's hour is locked shared, so it cannot become
// final between the check below and the commit.

import type { Db, Store } from '../store/store.ts';
import type { Fence } from '../jobs/leases.ts';
import { claimSampleKey, hostBaselines, saveHostBaselines } from '../store/counters.ts';
import type { HostBaselines } from '../store/hostBaselines.ts';
import { chainNeighbours, insertReadings, linkOf, recentChainReadings, setReadingDelta, type NewReading, type ReadingKey, type ReadingRow } from '../store/readings.ts';
import { heldInPlace, neighboursIn, placeAmongNeighbours, returnReadBeforeClear, type CounterPlace, type NeighboursAt } from './counterOrder.ts';
import { holdAnomalies, replaceCeilingHold, type AnomalyKind, type NewAnomaly } from '../store/anomalies.ts';
import { isHourFinal } from '../store/hours.ts';
import { chainDelta, clearedBetween, COUNTER_ORDER_WINDOW_MS, countersAtLeast, countersEqual, exceedsCeiling, MAX_STORED_BYTES, NO_BYTES, orderedByCounters, placeByCounters, type ChainDelta, type ChainLink } from '../domain/delta.ts';
import { HOUR_MS, hourOfReading } from '../domain/time.ts';
import { lockHostCounters, lockHours } from '../store/dialect/index.ts';
import { ensureDayPartitions } from '../store/partitions.ts';
import { describeTransfers, processKey, type CounterReading, type ProcessIdentity, type Transfers } from '../domain/types.ts';

export interface LoadBalancerReading extends CounterReading {
  accountId: number;
  loadBalancerId: number;
}

/** Readings taken out a slice at a time: an array, or a big host's readings kept in columns. */
export interface ReadingBatch {
  readonly length: number;
  slice(from: number, to: number): LoadBalancerReading[];
}

export interface HostSample {
  hostId: number;
  timeMs: number;
  process: ProcessIdentity;
  loadBalancers: ReadingBatch;
}

/** Bytes taken into the chain each way, SSL included: what the fleet's metering counts (a number: one sample's never nears 2^53). */
export interface MeteredBytes {
  in: number;
  out: number;
}

/** What the poller and the push endpoint log when a sample's readings count from zero after a clear. */
export const COUNTERS_CLEARED = 'counters cleared on the host (same process): what it counted since the read before is not billed';

export const meteredOf = (r: SampleIntakeResult): MeteredBytes => ({ in: Number(r.bytes.in + r.bytes.inSsl), out: Number(r.bytes.out + r.bytes.outSsl) });

export interface SampleIntakeResult {
  duplicate: boolean;
  /** Readings stored. */
  deltas: number;
  /** Readings held for an operator. */
  held: number;
  /**
   * Readings stored that count from zero because their process's counters were cleared (HAProxy's
   * `clear counters all`): what the process counted between the reading before and the clear is
   * not billed (a metric and an alert: docs/operations.md).
   */
  cleared: number;
  /** Bytes of the deltas taken (what the rollup may bill, events permitting). */
  bytes: { in: bigint; out: bigint; inSsl: bigint; outSsl: bigint };
}


export interface SampleIntakeOptions {
  /** A delta above this many bytes in any counter is held as an anomaly (never above 2^63 - 1). */
  deltaCeiling: bigint;
  nowMs?: number;
  /**
   * Called first in the storing transaction; throws when the reading may no longer be stored
   * (the poller's read lease was lost: another process reads the host now).
   */
  fence?: Fence;
}

export async function ingestSample(store: Store, sample: HostSample, options: SampleIntakeOptions): Promise<SampleIntakeResult> {
  const key = processKey(sample.process);
  const result: SampleIntakeResult = { duplicate: false, deltas: 0, held: 0, cleared: 0, bytes: { in: 0n, out: 0n, inSsl: 0n, outSsl: 0n } };
  // A new day's partition is made before the transaction: making one locks the table. A reading
  // placed by its counters moves next to the host's newest one: around this sample's time.
  await ensureDayPartitions(store.db, 'usage_samples', sample.timeMs - HOUR_MS, sample.timeMs + HOUR_MS);
  return store.transaction(async (trx) => {
    await options.fence?.(trx);
    if (!(await claimSampleKey(trx, sample.hostId, key, sample.timeMs))) return { ...result, duplicate: true };
    // Two pollers reading one host must not both take deltas from the same baseline.
    await lockHostCounters(trx, sample.hostId);
    // The sample reports the hour it closes: (H, H+1h] (see domain/rollup.ts).
    const hour = hourOfReading(sample.timeMs);
    await lockHours(trx, [hour], 'shared');
    const intake: SliceIntake = {
      trx, sample, key, late: await isHourFinal(trx, hour), ceiling: minBig(options.deltaCeiling, MAX_STORED_BYTES),
      baselines: await hostBaselines(trx, sample.hostId), baselinesMoved: false, anomalies: [], result,
    };
    // A big host goes in slices: a poll of 100k load balancers holds two slices' rows at a time,
    // not the whole host's (peak memory in the bench: 562 MB -> 396 MB). Each slice is computed
    // while the one before it is stored: the store's work and ours overlap.
    let storing: Promise<void> | undefined;
    for (let from = 0; from < sample.loadBalancers.length; from += READINGS_PER_SLICE) {
      const rows = await sliceReadings(intake, sample.loadBalancers.slice(from, from + READINGS_PER_SLICE));
      await storing;
      storing = insertReadings(trx, rows);
      // Awaited above or below; until then its failure must not count as unhandled.
      storing.catch(() => {});
      intake.result.deltas += rows.length;
    }
    await storing;
    if (intake.baselinesMoved) await saveHostBaselines(trx, sample.hostId, intake.baselines);
    await holdAnomalies(trx, intake.anomalies, options.nowMs);
    return result;
  });
}

/** Since slices overlap with their storing, 10k a slice: 5k made a cycle of 100k x 2 hosts ~10% slower (measured). */
const READINGS_PER_SLICE = 10_000;

interface SliceIntake {
  trx: Db;
  sample: HostSample;
  key: string;
  /** The sample's hour is final: its readings wait outside the chain for an operator. */
  late: boolean;
  ceiling: bigint;
  /** The host's newest reading of each load balancer; a reading taken in time becomes its baseline. */
  baselines: HostBaselines;
  baselinesMoved: boolean;
  anomalies: NewAnomaly[];
  result: SampleIntakeResult;
}

/** A slice's readings as rows to store, each with its delta by the reset rule; held ones in anomalies. */
async function sliceReadings(intake: SliceIntake, readings: LoadBalancerReading[]): Promise<NewReading[]> {
  const { trx, sample, key } = intake;
  const { baselines } = intake;
  const rows: NewReading[] = [];
  // Each reading beside its host's newest first: those that go before it are placed among the
  // stored chain, read once for the slice (a clear of a big host's counters sends all there).
  const newests = readings.map((r) => baselines.get(r.loadBalancerId));
  const placements = readings.map((r, i) => placementOf(baselines, newests[i], r, key, sample.timeMs));
  const near = await chainsNear(intake, readings, newests, placements);
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i]!;
    const newest = newests[i];
    const { older } = placements[i]!;
    let { timeMs } = placements[i]!;
    const link: ChainLink = {
      bytesIn: reading.bytesIn, bytesOut: reading.bytesOut, bytesInSsl: reading.bytesInSsl, bytesOutSsl: reading.bytesOutSsl, processKey: key, timeMs,
    };
    let delta: ChainDelta;
    let hold: NewReading['hold'] = 'NONE';
    let placed: Awaited<ReturnType<typeof placeInChain>>;
    if (older && intake.late) {
      // Out of order and for a final hour: held like any late reading, with the delta it would
      // take at its place; released, it joins the chain there (usage/corrections.ts joinChain).
      const { previous, same } = await chainNeighbours(intake.trx, sample.hostId, reading.loadBalancerId, timeMs);
      if (same || previous?.kind === 'HOURLY' || !couldPrecede(link, newest!)) {
        intake.anomalies.push(anomalyOf(sample, timeMs, reading, 'STALE_SAMPLE', `reading older than the newest one (${newest!.timeMs}) that cannot take its place before it; its bytes are counted by the newer readings`));
        intake.result.held++;
        continue;
      }
      delta = chainDelta(previous && linkOf(previous), reading, key);
      hold = 'LATE';
      intake.anomalies.push(anomalyOf(sample, timeMs, reading, 'LATE_SAMPLE', `${describeTransfers(delta)} for an hour already final, read before the host's newest reading`, delta));
    } else if (older && (placed = await placeInChain(intake, reading.loadBalancerId, link, newest!, near?.(reading.loadBalancerId))) !== AFTER_THE_NEWEST) {
      // Older than the newest reading of this host: it arrived out of order.
      if (!placed) {
        intake.anomalies.push(anomalyOf(sample, timeMs, reading, 'STALE_SAMPLE', `reading older than the newest one (${newest!.timeMs}) that cannot take its place before it; its bytes are counted by the newer readings`));
        intake.result.held++;
        continue;
      }
      ({ delta, timeMs } = placed);
      if (placed.cleared) intake.result.cleared++;
    } else {
      // In time, or after the newest by the chain (placed after a clear, or past the newest).
      timeMs = link.timeMs;
      delta = chainDelta(newest, reading, key);
      if (clearedBetween(newest, link)) intake.result.cleared++;
      if (intake.late) {
        // Its hour is final: the reading stays outside the chain (the next one counts from the
        // baseline before it) until an operator releases it into that hour or discards it.
        hold = 'LATE';
        intake.anomalies.push(anomalyOf(sample, timeMs, reading, 'LATE_SAMPLE', `${describeTransfers(delta)} for an hour already final`, delta));
      } else {
        baselines.set(reading.loadBalancerId, link, clearAgeAfter(newest, baselines.clearAgeMs(reading.loadBalancerId), link));
        intake.baselinesMoved = true;
      }
    }
    if (hold === 'NONE' && exceedsCeiling(delta, intake.ceiling)) {
      hold = 'CEILING';
      intake.anomalies.push(anomalyOf(sample, timeMs, reading, 'DELTA_ABOVE_CEILING', aboveCeiling(delta, intake.ceiling), delta));
    }
    if (hold !== 'NONE') intake.result.held++;
    else {
      intake.result.bytes.in += delta.bytesIn;
      intake.result.bytes.out += delta.bytesOut;
      intake.result.bytes.inSsl += delta.bytesInSsl;
      intake.result.bytes.outSsl += delta.bytesOutSsl;
    }
    // A delta beyond what a record can carry stays in its anomaly only; the reading keeps none.
    const stored = exceedsCeiling(delta, MAX_STORED_BYTES) ? NO_BYTES : delta;
    rows.push({
      // Named one by one: a spread before more properties is V8's slow path (15x, measured).
      loadBalancerId: reading.loadBalancerId, accountId: reading.accountId, hostId: sample.hostId, timeMs,
      pid: sample.process.pid, processStartMs: sample.process.startMs, counters: reading, hold, kind: delta.kind,
      bytesIn: stored.bytesIn, bytesOut: stored.bytesOut, bytesInSsl: stored.bytesInSsl, bytesOutSsl: stored.bytesOutSsl,
      connections: reading.connections, connectionsSsl: reading.connectionsSsl, readMs: timeMs !== sample.timeMs ? sample.timeMs : undefined,
    });
  }
  return rows;
}

/**
 * Where a reading goes by its host's newest alone: placed by its counters, not by its reader's
 * clock (a skewed clock never makes a reset). `older`: it goes before the newest, among the
 * stored chain, or it is higher than a newest read soon after a clear and stamped before it: it
 * may have been read before the clear, which the chain says, not the newest alone.
 */
function placementOf(baselines: HostBaselines, newest: ChainLink | undefined, reading: LoadBalancerReading, key: string, stampMs: number): { timeMs: number; older: boolean } {
  const placement = placeByCounters(newest, reading, key, stampMs);
  if (placement.older) return placement;
  if (placement.timeMs !== stampMs && baselines.clearAgeMs(reading.loadBalancerId) !== undefined) return { timeMs: stampMs, older: true };
  return placement;
}

/**
 * The stored chains around a slice's readings that go before their newest, read in one query;
 * undefined when none does. Placing looks back over the readings within the window before one,
 * at the reading before those, and forward past lower ones: twice the window each way holds
 * them at any poll interval under it. A sample read in time (the newest readings are that
 * close after it) takes its chains to their ends; a late one only that far, so a sample an hour
 * late does not read an hour of readings (past them, the store is asked).
 */
async function chainsNear(intake: SliceIntake, readings: LoadBalancerReading[], newests: (ChainLink | undefined)[], placements: { timeMs: number; older: boolean }[]): Promise<((lbId: number) => NeighboursAt) | undefined> {
  const { trx, sample } = intake;
  const reach = 2 * COUNTER_ORDER_WINDOW_MS;
  const lbIds: number[] = [];
  let latestNewestMs = -Infinity;
  placements.forEach((p, i) => {
    if (!p.older) return;
    lbIds.push(readings[i]!.loadBalancerId);
    latestNewestMs = Math.max(latestNewestMs, newests[i]!.timeMs);
  });
  if (lbIds.length === 0) return undefined;
  const fromMs = sample.timeMs - reach;
  const toMs = latestNewestMs <= sample.timeMs + reach ? Infinity : sample.timeMs + reach;
  const chains = await recentChainReadings(trx, sample.hostId, lbIds, fromMs, toMs);
  return (lbId) => neighboursIn(chains.get(lbId) ?? [], fromMs, toMs, (t) => chainNeighbours(trx, sample.hostId, lbId, t));
}

/**
 * A reading that arrived after a newer one of the same host takes its place in the chain, as if
 * it had come in time: its delta from the reading before it, and the reading after it now counts
 * from it (and is held, or no longer held, by the ceiling accordingly). Among readings of one
 * process stamped close together the counters decide (domain/delta.ts goesAfter): it goes after
 * lower ones stamped after it, and higher ones stamped before it move to just after it, so the
 * chain is the same in any arrival order. Refused (undefined): a reading from a process that
 * started after the newest reading's (it cannot be older: a clock went back), one that shares
 * its instant with a stored reading, one whose neighbours keep no counters (stored before they
 * were kept, or compacted), or a place the counters contradict.
 */
async function placeInChain(intake: SliceIntake, lbId: number, link: ChainLink, newest: ChainLink, near?: NeighboursAt): Promise<{ delta: ChainDelta; timeMs: number; cleared: boolean } | typeof AFTER_THE_NEWEST | undefined> {
  const { trx, sample } = intake;
  if (!couldPrecede(link, newest)) return undefined;
  const stampMs = link.timeMs;
  const place = await placeAmongNeighbours(trx, sample.hostId, lbId, link, near);
  // Nothing after its place: it follows the newest (read after a clear, or past it by counters).
  if (place && !place.around.next && !place.around.same && place.moved.length === 0 && (place.clearedBefore || link.timeMs !== stampMs)) return AFTER_THE_NEWEST;
  const delta = place?.around.next ? await takePlace(intake, lbId, link, place) : undefined;
  if (!delta) {
    await place?.undo();
    return undefined;
  }
  const previous = place!.around.previous && linkOf(place!.around.previous);
  const baseline = intake.baselines.get(lbId)!;
  const newestMoved = place!.moved.find((m) => baseline.timeMs === m.from);
  if (newestMoved) {
    intake.baselines.set(lbId, newestMoved.link);
    intake.baselinesMoved = true;
  } else if (place!.around.next!.timeMs === baseline.timeMs) {
    // The newest counts from this reading now: a clear may be just before it, or before this
    // one; the nearer of that and the one it knew.
    const ages = [clearAgeAfter(link, clearedBetween(previous, link) ? 0 : undefined, baseline), intake.baselines.clearAgeMs(lbId)].filter((a) => a !== undefined);
    intake.baselines.set(lbId, baseline, ages.length > 0 ? Math.min(...ages) : undefined);
    intake.baselinesMoved = true;
  }
  // A clear this reading shows, just before it or just after it, may put back readings placed
  // before it was known; the first changes this reading's own delta.
  const own = previous && await returnWhatWasReadBeforeTheClear(intake, lbId, previous, { link });
  const next = place!.around.next!;
  const nextLink = linkOf(next);
  if (nextLink) await returnWhatWasReadBeforeTheClear(intake, lbId, link, { link: nextLink, row: next });
  if (clearedBetween(previous, link)) noteClearBeforeNewest(intake, lbId, link);
  if (nextLink && clearedBetween(link, nextLink)) noteClearBeforeNewest(intake, lbId, nextLink);
  return { delta: own ?? delta, timeMs: link.timeMs, cleared: place!.clearedBefore };
}

/**
 * A clear the chain shows only now, just before `firstAfter`: the host's newest, read that soon
 * after it, keeps how soon (HostBaselines clearAgeMs), so a higher reading stamped before the
 * newest is placed among the chain, where the clear is, not after the newest by its counters.
 */
function noteClearBeforeNewest(intake: SliceIntake, lbId: number, firstAfter: ChainLink): void {
  const newest = intake.baselines.get(lbId);
  if (!newest || newest.processKey !== firstAfter.processKey) return;
  const ageMs = newest.timeMs - firstAfter.timeMs;
  const known = intake.baselines.clearAgeMs(lbId);
  if (ageMs < 0 || ageMs > COUNTER_ORDER_WINDOW_MS || (known !== undefined && known <= ageMs)) return;
  intake.baselines.set(lbId, newest, ageMs);
  intake.baselinesMoved = true;
}

/**
 * The readings a clear between `before` and `cleared` puts back where they were read
 * (counterOrder.ts returnReadBeforeClear): each delta of the stretch taken again from the
 * reading now before it, and the host's newest moved with them. The delta of the reading being
 * placed, when it is in the stretch.
 */
async function returnWhatWasReadBeforeTheClear(intake: SliceIntake, lbId: number, before: ChainLink, cleared: { link: ChainLink; row?: ReadingRow }): Promise<ChainDelta | undefined> {
  const returned = await returnReadBeforeClear(intake.trx, intake.sample.hostId, lbId, before, cleared);
  if (!returned) return undefined;
  let previous = before;
  const deltas = returned.chain.map((c) => {
    const delta = chainDelta(previous, c.link, c.link.processKey);
    previous = c.link;
    return delta;
  });
  if (deltas.some((d) => exceedsCeiling(d, MAX_STORED_BYTES))) return undefined;
  await returned.apply();
  let placing: ChainDelta | undefined;
  let clearAgeMs: number | undefined;
  previous = before;
  for (const [i, { row, link, movedFrom }] of returned.chain.entries()) {
    const delta = deltas[i]!;
    if (!row) placing = delta;
    else if (movedFrom !== undefined || !sameDelta(row, delta)) await retakeDelta(intake, { loadBalancerId: lbId, hostId: intake.sample.hostId, timeMs: link.timeMs }, row, delta);
    clearAgeMs = clearAgeAfter(previous, clearAgeMs, link);
    previous = link;
  }
  const newest = intake.baselines.get(lbId);
  if (newest && returned.chain.some((c) => c.movedFrom === newest.timeMs)) {
    intake.baselines.set(lbId, previous, clearAgeMs);
    intake.baselinesMoved = true;
  }
  return placing;
}

const sameDelta = (row: ReadingRow, d: ChainDelta) => row.kind === d.kind && countersEqual(row, d);

/** The delta of a reading at its place between its neighbours, the next one's taken from it. */
async function takePlace(intake: SliceIntake, lbId: number, link: ChainLink, place: CounterPlace): Promise<ChainDelta | undefined> {
  const { trx, sample } = intake;
  const { previous, next, same } = place.around;
  // Compacted hourly rows keep no counters: no delta is taken from or after them again.
  if (same || previous?.kind === 'HOURLY' || next?.kind === 'HOURLY') return undefined;
  // The hour it goes in may be final (a reading placed before one at an hour's start).
  if (hourOfReading(link.timeMs) !== hourOfReading(sample.timeMs) && await isHourFinal(trx, hourOfReading(link.timeMs))) return undefined;
  const previousLink = previous && linkOf(previous);
  // Counters of one process order its readings: a place they contradict would make a reset,
  // unless the counters were cleared there (counterOrder.ts).
  if (previousLink && !place.clearedBefore && !inCounterOrder(previousLink, link)) return undefined;
  const delta = chainDelta(previousLink, link, link.processKey);
  if (next) {
    const nextLink = linkOf(next);
    if (!nextLink || (!place.clearedAfter && !inCounterOrder(link, nextLink))) return undefined;
    const nextDelta = chainDelta(link, nextLink, nextLink.processKey);
    if (exceedsCeiling(nextDelta, MAX_STORED_BYTES) || exceedsCeiling(delta, MAX_STORED_BYTES)) return undefined;
    await retakeDelta(intake, { loadBalancerId: lbId, hostId: sample.hostId, timeMs: next.timeMs }, next, nextDelta);
  }
  return delta;
}

/** A stored reading's delta taken again from the reading now before it: held, or no longer held, by the ceiling accordingly. */
async function retakeDelta(intake: SliceIntake, key: ReadingKey, row: ReadingRow, delta: ChainDelta): Promise<void> {
  if (heldInPlace(row)) return setReadingDelta(intake.trx, key, delta);
  const held = exceedsCeiling(delta, intake.ceiling);
  await setReadingDelta(intake.trx, key, delta, held ? 'CEILING' : 'NONE');
  await replaceCeilingHold(intake.trx, key, held ? { kind: 'DELTA_ABOVE_CEILING', ...key, detail: aboveCeiling(delta, intake.ceiling), held: delta } : undefined);
}

/**
 * How long after a clear of its process's counters `link` was read, taken after `newest` (read
 * `newestAgeMs` after one); undefined past the counter-order window: no reading that close to
 * `link` can have been read before that clear.
 */
function clearAgeAfter(newest: ChainLink | undefined, newestAgeMs: number | undefined, link: ChainLink): number | undefined {
  if (!newest || newest.processKey !== link.processKey) return undefined;
  if (clearedBetween(newest, link)) return 0;
  const ageMs = newestAgeMs === undefined ? undefined : newestAgeMs + link.timeMs - newest.timeMs;
  return ageMs !== undefined && ageMs <= COUNTER_ORDER_WINDOW_MS ? ageMs : undefined;
}

/** placeInChain: the reading goes after the newest, its delta taken from it (a reset when the counters were cleared between them). */
const AFTER_THE_NEWEST = Symbol('after the newest');

/** `later` may follow `earlier`: their stamps order them, or their counters agree with that order. */
function inCounterOrder(earlier: ChainLink, later: ChainLink): boolean {
  return !orderedByCounters(earlier, later) || countersAtLeast(later, earlier);
}

/** Readings of one process come in order of time; a later process cannot have read before an earlier one. */
function couldPrecede(older: ChainLink, newer: ChainLink): boolean {
  return older.processKey === newer.processKey || startOf(older.processKey) <= startOf(newer.processKey);
}

const startOf = (processKey: string) => Number(processKey.slice(processKey.indexOf('@') + 1));
const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const aboveCeiling = (delta: Transfers, ceiling: bigint) => `${describeTransfers(delta)} above ceiling ${ceiling}`;

function anomalyOf(sample: HostSample, timeMs: number, reading: LoadBalancerReading, kind: AnomalyKind, detail: string, held?: Transfers): NewAnomaly {
  const anomaly: NewAnomaly = { kind, timeMs, loadBalancerId: reading.loadBalancerId, hostId: sample.hostId, detail };
  if (held) anomaly.held = held;
  return anomaly;
}
