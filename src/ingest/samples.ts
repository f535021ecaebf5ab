// Counter samples to stored deltas (SPEC 5, Deltas), the one path for pushed and polled counters.
// The sample key is claimed in the same transaction that stores the deltas, so a retry can
// neither count twice nor be dropped.

import type { Db, Store } from '../store/store.ts';
import { baselinesOf, claimSampleKey, insertDeltas, saveBaselines, type StoredDelta } from '../store/counters.ts';
import { loadBalancerBasics } from '../store/loadBalancers.ts';
import { holdAnomalies, type AnomalyKind, type NewAnomaly } from '../store/anomalies.ts';
import { isHourFinal } from '../store/hours.ts';
import { computeDelta, exceedsCeiling, type CounterBaseline } from '../domain/delta.ts';
import { floorHour } from '../domain/time.ts';
import { lockHostCounters } from '../store/dialect.ts';
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

export interface SampleIntakeResult {
  duplicate: boolean;
  deltas: number;
  held: number;
  bytes: { in: bigint; out: bigint; inSsl: bigint; outSsl: bigint };
}

/** Stored transfers are SQL bigint: exact up to 2^63 - 1 (SPEC 3). */
const MAX_STORED_DELTA = 2n ** 63n - 1n;

export interface SampleIntakeOptions {
  /** A delta above this many bytes in any counter is held as an anomaly (never above 2^63 - 1). */
  deltaCeiling: bigint;
  nowMs?: number;
}

export async function ingestSample(store: Store, sample: HostSample, options: SampleIntakeOptions): Promise<SampleIntakeResult> {
  const key = processKey(sample.process);
  const result: SampleIntakeResult = { duplicate: false, deltas: 0, held: 0, bytes: { in: 0n, out: 0n, inSsl: 0n, outSsl: 0n } };
  // A new day's partition is made before the transaction: making one locks the table.
  await ensureDayPartitions(store.db, 'usage_samples', sample.timeMs, sample.timeMs);
  return store.transaction(async (trx) => {
    if (!(await claimSampleKey(trx, sample.hostId, key, sample.timeMs))) return { ...result, duplicate: true };
    // Two pollers reading one host must not both compute deltas from the same baseline.
    await lockHostCounters(trx, store.engine, sample.hostId);
    // The sample bills the hour it closes: (H, H+1h] (see domain/rollup.ts).
    const lateHour = await isHourFinal(trx, floorHour(sample.timeMs - 1));
    const anomalies: NewAnomaly[] = [];
    // A big host goes in slices: a poll of 100k load balancers holds one slice's rows and
    // statements at a time, not the whole host's (peak memory in the bench: 562 MB -> 396 MB).
    for (let from = 0; from < sample.loadBalancers.length; from += READINGS_PER_SLICE) {
      const slice = sample.loadBalancers.slice(from, from + READINGS_PER_SLICE);
      await ingestSlice(trx, sample, key, slice, lateHour, options, anomalies, result);
    }
    await holdAnomalies(trx, anomalies, options.nowMs);
    return result;
  });
}

const READINGS_PER_SLICE = 5_000;

async function ingestSlice(trx: Db, sample: HostSample, key: string, readings: LoadBalancerReading[], lateHour: boolean, options: SampleIntakeOptions, anomalies: NewAnomaly[], result: SampleIntakeResult): Promise<void> {
  const ids = readings.map((r) => r.loadBalancerId);
  const basics = await loadBalancerBasics(trx, ids);
  const baselines = await baselinesOf(trx, sample.hostId, ids);
  const deltas: StoredDelta[] = [];
  const nextBaselines = new Map<number, CounterBaseline>();
  for (const reading of readings) {
    const lb = basics.get(reading.loadBalancerId);
    const previous = baselines.get(reading.loadBalancerId);
    if (previous && previous.timeMs > sample.timeMs) {
      anomalies.push(anomalyOf(sample, reading, 'STALE_SAMPLE', `reading older than the last one (${previous.timeMs})`));
      continue;
    }
    const delta = computeDelta({ previous, current: reading, processKey: key, processStartMs: sample.process.startMs, createdMs: lb?.createdMs });
    let held = false;
    if (exceedsCeiling(delta, options.deltaCeiling < MAX_STORED_DELTA ? options.deltaCeiling : MAX_STORED_DELTA)) {
      held = true;
      anomalies.push(anomalyOf(sample, reading, 'DELTA_ABOVE_CEILING', `${describeTransfers(delta)} above ceiling ${options.deltaCeiling}`, delta));
    } else if (lb?.deletedMs !== undefined && sample.timeMs > lb.deletedMs && hasBytes(delta)) {
      held = true;
      anomalies.push(anomalyOf(sample, reading, 'SAMPLE_AFTER_DELETE', `${describeTransfers(delta)} after deletion at ${lb.deletedMs}`, delta));
    } else if (lateHour && hasBytes(delta)) {
      held = true;
      anomalies.push(anomalyOf(sample, reading, 'LATE_SAMPLE', `${describeTransfers(delta)} for an hour already final`, delta));
    }
    // A held delta keeps its poll (connections) but no bytes; its amounts live in the anomaly.
    const billed = held ? { bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n } : delta;
    deltas.push({
      // Named one by one: a spread before more properties is V8's slow path (15x, measured).
      timeMs: sample.timeMs, loadBalancerId: reading.loadBalancerId, hostId: sample.hostId, accountId: lb?.accountId ?? reading.accountId, held,
      bytesIn: billed.bytesIn, bytesOut: billed.bytesOut, bytesInSsl: billed.bytesInSsl, bytesOutSsl: billed.bytesOutSsl,
      connections: reading.connections, connectionsSsl: reading.connectionsSsl,
    });
    nextBaselines.set(reading.loadBalancerId, {
      processKey: key, timeMs: sample.timeMs,
      bytesIn: reading.bytesIn, bytesOut: reading.bytesOut, bytesInSsl: reading.bytesInSsl, bytesOutSsl: reading.bytesOutSsl,
    });
    if (held) result.held++;
    else {
      result.bytes.in += delta.bytesIn;
      result.bytes.out += delta.bytesOut;
      result.bytes.inSsl += delta.bytesInSsl;
      result.bytes.outSsl += delta.bytesOutSsl;
    }
  }
  await insertDeltas(trx, deltas);
  await saveBaselines(trx, sample.hostId, nextBaselines);
  result.deltas += deltas.length;
}

function anomalyOf(sample: HostSample, reading: LoadBalancerReading, kind: AnomalyKind, detail: string, held?: Transfers): NewAnomaly {
  const anomaly: NewAnomaly = { kind, timeMs: sample.timeMs, loadBalancerId: reading.loadBalancerId, hostId: sample.hostId, detail };
  if (held) anomaly.held = held;
  return anomaly;
}

function hasBytes(d: Transfers): boolean {
  return d.bytesIn + d.bytesOut + d.bytesInSsl + d.bytesOutSsl > 0n;
}
