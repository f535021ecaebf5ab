// Hourly usage records of one load balancer (SPEC 5, Hourly rollup).
//
// A record covers [start, end). A sample taken at instant t reports the traffic up to t, so it
// belongs to the record with start < t <= end: a poll at 11:00:00 bills the 10:00 hour, and the
// bytes up to an event belong to the record the event closes. The first record of a load
// balancer also takes any earlier sample (counters that began before the CREATE event).

import { HOUR_MS } from './time.ts';
import { vipTypeOf, type TimelineStep } from './lifecycle.ts';
import type { CounterReading, EventType, LoadBalancerState, SslMode, Transfers, VipType } from './types.ts';

/** A stored delta: what one host counted for a load balancer up to timeMs since its last reading. */
export interface UsageSample extends CounterReading {
  timeMs: number;
}

/** What a record makes of the samples it takes: their sums, and how many polls they were. */
export interface SampleTotals extends Omit<UsageSample, 'timeMs'> {
  /** Distinct poll instants: samples of several hosts at one instant are one poll. */
  polls: number;
}

export interface UsageRecordDraft extends Transfers {
  accountId: number;
  loadBalancerId: number;
  hourMs: number;
  startMs: number;
  endMs: number;
  /** The zero-length record a DELETE leaves behind. */
  closing: boolean;
  averageNumConnections: number;
  averageNumConnectionsSsl: number;
  numVips: number;
  numPolls: number;
  vipType: VipType;
  sslMode: SslMode;
  eventType?: EventType;
}

export interface HourRollup {
  records: UsageRecordDraft[];
  /** Samples no record can take: traffic reported after the load balancer was deleted. */
  unattributed: UsageSample[];
}

interface Segment {
  startMs: number;
  endMs: number;
  state: LoadBalancerState;
  eventType?: EventType;
  closing: boolean;
}

/**
 * Records of the hour starting at hourMs, up to hourEndMs (the hour's end, or "now" for the
 * provisional record of the hour in progress). `samples` are those with time in
 * (hourMs, hourEndMs], or (-inf, hourEndMs] in the hour the load balancer was created.
 */
export function rollupHour(steps: TimelineStep[], hourMs: number, samples: UsageSample[], hourEndMs = hourMs + HOUR_MS): HourRollup {
  const segments = segmentsOfHour(steps, hourMs, hourEndMs);
  if (segments.length === 0) return { records: [], unattributed: samples };
  const open = segments.filter((s) => !s.closing);
  const buckets = open.map(() => [] as UsageSample[]);
  const unattributed: UsageSample[] = [];
  for (const sample of samples) {
    const i = open.findIndex((s) => sample.timeMs <= s.endMs);
    if (i < 0) unattributed.push(sample);
    else buckets[i].push(sample);
  }
  const records = segments.map((segment) => {
    const i = open.indexOf(segment);
    return toRecord(segment, hourMs, totalsOf(i < 0 ? [] : buckets[i]));
  });
  return { records, unattributed };
}

/**
 * A quiet hour: the load balancer existed before it and no event falls in it, so it has one
 * record, which takes every sample of the hour. Its records can be made from the samples'
 * totals alone (summed by the store), which is how the rollup treats most of a fleet.
 */
export function isQuietHour(steps: TimelineStep[], hourMs: number, hourEndMs = hourMs + HOUR_MS): boolean {
  return steps.length > 0 && steps[0].event.timeMs < hourMs && !steps.some((s) => s.event.timeMs >= hourMs && s.event.timeMs < hourEndMs);
}

/** The records of a quiet hour (see isQuietHour) from the totals of its samples. */
export function rollupQuietHour(steps: TimelineStep[], hourMs: number, totals: SampleTotals, hourEndMs = hourMs + HOUR_MS): UsageRecordDraft[] {
  if (!isQuietHour(steps, hourMs, hourEndMs)) throw new Error('rollupQuietHour needs an hour without events');
  return segmentsOfHour(steps, hourMs, hourEndMs).map((segment) => toRecord(segment, hourMs, totals));
}

export function totalsOf(samples: UsageSample[]): SampleTotals {
  const t: SampleTotals = { bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0, polls: 0 };
  const polls = new Set<number>();
  for (const s of samples) {
    t.bytesIn += s.bytesIn;
    t.bytesOut += s.bytesOut;
    t.bytesInSsl += s.bytesInSsl;
    t.bytesOutSsl += s.bytesOutSsl;
    t.connections += s.connections;
    t.connectionsSsl += s.connectionsSsl;
    polls.add(s.timeMs);
  }
  t.polls = polls.size;
  return t;
}

function segmentsOfHour(steps: TimelineStep[], hourMs: number, hourEndMs: number): Segment[] {
  let state: LoadBalancerState | undefined;
  let rest = 0;
  while (rest < steps.length && steps[rest].event.timeMs < hourMs) state = steps[rest++].state;
  if (state?.deletedMs !== undefined) return [];

  const segments: Segment[] = [];
  let current: Segment | undefined = state && { startMs: hourMs, endMs: hourEndMs, state, closing: false, eventType: carriedType(state) };
  let typeSetAt: number | undefined;
  for (; rest < steps.length && steps[rest].event.timeMs < hourEndMs; rest++) {
    const { event, state: after } = steps[rest];
    const t = event.timeMs;
    if (event.type === 'DELETE_LOADBALANCER') {
      // Close the open record, unless it is an empty carry-over that starts at this very instant.
      if (current && (t > current.startMs || typeSetAt === t)) segments.push({ ...current, endMs: t });
      segments.push({ startMs: t, endMs: t, state: after, closing: true, eventType: 'DELETE_LOADBALANCER' });
      return segments;
    }
    if (current && t === current.startMs) {
      // Several events at one instant make one record: named by the first, in the state after the last.
      current.state = after;
      if (typeSetAt !== t) current.eventType = event.type;
    } else {
      if (current) segments.push({ ...current, endMs: t });
      current = { startMs: t, endMs: hourEndMs, state: after, closing: false, eventType: event.type };
    }
    typeSetAt = t;
  }
  if (current) segments.push(current);
  return segments;
}

function carriedType(state: LoadBalancerState): EventType | undefined {
  return state.status === 'SUSPENDED' ? 'SUSPENDED_LOADBALANCER' : undefined;
}

function toRecord(segment: Segment, hourMs: number, totals: SampleTotals): UsageRecordDraft {
  const { state } = segment;
  const { bytesIn, bytesOut, bytesInSsl, bytesOutSsl, connections, connectionsSsl, polls: numPolls } = totals;
  const record: UsageRecordDraft = {
    accountId: state.accountId,
    loadBalancerId: state.id,
    hourMs,
    startMs: segment.startMs,
    endMs: segment.endMs,
    closing: segment.closing,
    bytesIn, bytesOut, bytesInSsl, bytesOutSsl,
    averageNumConnections: average(connections, numPolls),
    averageNumConnectionsSsl: average(connectionsSsl, numPolls),
    numVips: segment.closing ? 0 : state.virtualIps.length,
    numPolls,
    vipType: vipTypeOf(state),
    sslMode: state.sslMode,
  };
  if (segment.eventType) record.eventType = segment.eventType;
  return record;
}

/** Mean connections per poll, to four decimals. */
function average(total: number, polls: number): number {
  return polls === 0 ? 0 : Math.round((total / polls) * 10_000) / 10_000;
}

/** The hours [from, to) in which a load balancer with these steps needs records. */
export function liveHours(steps: TimelineStep[], fromMs: number, toMs: number): number[] {
  if (steps.length === 0) return [];
  const created = steps[0].state.createdMs;
  const deleted = steps[steps.length - 1].state.deletedMs;
  const first = Math.max(fromMs, Math.floor(created / HOUR_MS) * HOUR_MS);
  const last = Math.min(toMs, deleted === undefined ? toMs : Math.floor(deleted / HOUR_MS) * HOUR_MS + HOUR_MS);
  const hours: number[] = [];
  for (let h = first; h < last; h += HOUR_MS) hours.push(h);
  return hours;
}
