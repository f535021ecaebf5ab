// Hourly usage records of one load balancer (SPEC 5, Hourly rollup).
//
// A record covers [start, end). A reading taken at instant t reports the traffic up to t, so it
// belongs to the record with start < t <= end: a poll at 11:00:00 bills the 10:00 hour, and the
// bytes up to an event belong to the record the event closes. The first record of a load
// balancer also takes any earlier reading (counters that ran before the CREATE event).
//
// What each reading bills is decided here, from the load balancer's whole known history
// (domain/reading.ts): the records are a function of the readings and events, not of the order
// they arrived in.

import { floorHour, HOUR_MS } from './time.ts';
import { vipTypeOf, type TimelineStep } from './lifecycle.ts';
import { decideReading, needsAfterDeleteHold, type Decided, type LifeSpan, type StoredReading } from './reading.ts';
import type { EventType, LoadBalancerState, SslMode, Transfers, VipType } from './types.ts';

/** What a record makes of the readings it takes (SPEC 5, Connections). */
export interface RecordTotals extends Transfers {
  /** Readings of the record's busiest host: hosts polled together count once a round. */
  numPolls: number;
  /** Sum over hosts of each host's mean current connections over its readings in the record. */
  averageConnections: number;
  averageConnectionsSsl: number;
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

export interface DecidedReading extends Decided {
  reading: StoredReading;
}

export interface HourRollup {
  records: UsageRecordDraft[];
  /** Per record (same index), the readings it took and what each billed: the audit trail. */
  sources: DecidedReading[][];
  /** Readings no record takes (held late, unknown load balancer, after the deletion). */
  unattributed: DecidedReading[];
  /** Readings after the deletion that counted bytes: held for an operator (SAMPLE_AFTER_DELETE). */
  afterDelete: StoredReading[];
}

interface Segment {
  startMs: number;
  endMs: number;
  state: LoadBalancerState;
  eventType?: EventType;
  closing: boolean;
  /** The state whose vipType and sslMode the record shows (a closing record keeps its predecessor's). */
  shown: LoadBalancerState;
}

/**
 * The hour of a deleted load balancer's last record, which ends at the deletion: the deletion's
 * hour, unless the DELETE is on the hour (the record ending then is the previous hour's).
 */
export function lastRecordHour(life: LifeSpan): number | undefined {
  return life.deletedMs === undefined ? undefined : floorHour(life.deletedMs - 1);
}

export function lifeSpanOf(steps: TimelineStep[]): LifeSpan {
  return { createdMs: steps[0]?.state.createdMs, deletedMs: steps.at(-1)?.state.deletedMs };
}

/**
 * Records of the hour starting at hourMs, up to hourEndMs (the hour's end, or "now" for the
 * provisional record of the hour in progress). `readings` are those with time in
 * (hourMs, hourEndMs]; in the hour the load balancer was created, any earlier ones too; in the
 * hour it was deleted, later released ones too (an operator billed them in its last record).
 */
export function rollupHour(steps: TimelineStep[], hourMs: number, readings: StoredReading[], hourEndMs = hourMs + HOUR_MS): HourRollup {
  const segments = segmentsOfHour(steps, hourMs, hourEndMs);
  const life = lifeSpanOf(steps);
  const open = segments.filter((s) => !s.closing);
  const buckets = open.map(() => [] as DecidedReading[]);
  const unattributed: DecidedReading[] = [];
  const afterDelete: StoredReading[] = [];
  const lastRecordHere = lastRecordHour(life) === hourMs;
  for (const reading of readings) {
    const decided: DecidedReading = { reading, ...decideReading(reading, life) };
    if (needsAfterDeleteHold(reading, decided)) afterDelete.push(reading);
    const i = decided.decision === 'RELEASED_AFTER_DELETE' ? (lastRecordHere ? open.length - 1 : -1)
      : decided.poll ? open.findIndex((s) => reading.timeMs <= s.endMs) : -1;
    if (i < 0) unattributed.push(decided);
    else buckets[i]!.push(decided);
  }
  const sources = segments.map((segment) => {
    const i = open.indexOf(segment);
    return i < 0 ? [] : buckets[i]!;
  });
  const records = segments.map((segment, i) => toRecord(segment, hourMs, totalsOf(sources[i]!)));
  return { records, sources, unattributed, afterDelete };
}

/**
 * A quiet hour: the load balancer existed before it and no event falls in it, so it has one
 * record, which takes every reading of the hour, each billing its delta unless it is held. Its
 * records can be made from the readings' totals alone (summed by the store), which is how the
 * rollup treats most of a fleet.
 */
export function isQuietHour(steps: TimelineStep[], hourMs: number, hourEndMs = hourMs + HOUR_MS): boolean {
  return steps.length > 0 && steps[0]!.event.timeMs < hourMs && !steps.some((s) => s.event.timeMs >= hourMs && s.event.timeMs < hourEndMs);
}

/** The records of a quiet hour (see isQuietHour) from the totals of its readings. */
export function rollupQuietHour(steps: TimelineStep[], hourMs: number, totals: RecordTotals, hourEndMs = hourMs + HOUR_MS): UsageRecordDraft[] {
  if (!isQuietHour(steps, hourMs, hourEndMs)) throw new Error('rollupQuietHour needs an hour without events');
  return segmentsOfHour(steps, hourMs, hourEndMs).map((segment) => toRecord(segment, hourMs, totals));
}

export const NO_TOTALS: RecordTotals = Object.freeze({ bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, numPolls: 0, averageConnections: 0, averageConnectionsSsl: 0 });

/** Bytes billed, and the connection figures over the readings that count as polls, host by host. */
export function totalsOf(taken: readonly Decided[] | readonly DecidedReading[]): RecordTotals {
  const t: RecordTotals = { ...NO_TOTALS };
  const hosts = new Map<number, { polls: number; connections: number; connectionsSsl: number }>();
  for (const d of taken as DecidedReading[]) {
    t.bytesIn += d.billed.bytesIn;
    t.bytesOut += d.billed.bytesOut;
    t.bytesInSsl += d.billed.bytesInSsl;
    t.bytesOutSsl += d.billed.bytesOutSsl;
    if (!d.poll) continue;
    const h = hosts.get(d.reading.hostId) ?? { polls: 0, connections: 0, connectionsSsl: 0 };
    h.polls += d.reading.polls ?? 1;
    h.connections += d.reading.connections;
    h.connectionsSsl += d.reading.connectionsSsl;
    hosts.set(d.reading.hostId, h);
  }
  // Hosts in id order: the same sum of floating-point means whatever order the readings came in.
  for (const [, h] of [...hosts].sort((a, b) => a[0] - b[0])) {
    t.numPolls = Math.max(t.numPolls, h.polls);
    t.averageConnections += h.connections / h.polls;
    t.averageConnectionsSsl += h.connectionsSsl / h.polls;
  }
  return t;
}

function segmentsOfHour(steps: TimelineStep[], hourMs: number, hourEndMs: number): Segment[] {
  let state: LoadBalancerState | undefined;
  let rest = 0;
  while (rest < steps.length && steps[rest]!.event.timeMs < hourMs) state = steps[rest++]!.state;
  if (state?.deletedMs !== undefined) return [];

  const segments: Segment[] = [];
  let current: Segment | undefined = state && { startMs: hourMs, endMs: hourEndMs, state, shown: state, closing: false, eventType: carriedType(state) };
  let typeSetAt: number | undefined;
  for (; rest < steps.length && steps[rest]!.event.timeMs < hourEndMs; rest++) {
    const { event, state: after } = steps[rest]!;
    const t = event.timeMs;
    if (event.type === 'DELETE_LOADBALANCER') {
      // Close the open record, unless it is an empty carry-over that starts at this very instant.
      if (current && (t > current.startMs || typeSetAt === t)) segments.push({ ...current, endMs: t });
      // The closing record keeps the vipType and sslMode of the record it follows (SPEC 5).
      const shown = current?.state ?? state ?? after;
      segments.push({ startMs: t, endMs: t, state: after, shown, closing: true, eventType: 'DELETE_LOADBALANCER' });
      return segments;
    }
    if (current && t === current.startMs) {
      // Several events at one instant make one record: named by the first, in the state after the last.
      current.state = after;
      current.shown = after;
      if (typeSetAt !== t) current.eventType = event.type;
    } else {
      if (current) segments.push({ ...current, endMs: t });
      current = { startMs: t, endMs: hourEndMs, state: after, shown: after, closing: false, eventType: event.type };
    }
    state = after;
    typeSetAt = t;
  }
  if (current) segments.push(current);
  return segments;
}

function carriedType(state: LoadBalancerState): EventType | undefined {
  return state.status === 'SUSPENDED' ? 'SUSPENDED_LOADBALANCER' : undefined;
}

function toRecord(segment: Segment, hourMs: number, totals: RecordTotals): UsageRecordDraft {
  const { state, shown } = segment;
  const record: UsageRecordDraft = {
    accountId: state.accountId,
    loadBalancerId: state.id,
    hourMs,
    startMs: segment.startMs,
    endMs: segment.endMs,
    closing: segment.closing,
    bytesIn: totals.bytesIn, bytesOut: totals.bytesOut, bytesInSsl: totals.bytesInSsl, bytesOutSsl: totals.bytesOutSsl,
    averageNumConnections: round4(totals.averageConnections),
    averageNumConnectionsSsl: round4(totals.averageConnectionsSsl),
    numVips: segment.closing ? 0 : state.virtualIps.length,
    numPolls: totals.numPolls,
    vipType: vipTypeOf(shown),
    sslMode: shown.sslMode,
  };
  if (segment.eventType) record.eventType = segment.eventType;
  return record;
}

/** Averages to four decimals. */
function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** The hours [from, to) in which a load balancer with these steps needs records. */
export function liveHours(steps: TimelineStep[], fromMs: number, toMs: number): number[] {
  if (steps.length === 0) return [];
  const created = steps[0]!.state.createdMs;
  const deleted = steps[steps.length - 1]!.state.deletedMs;
  const first = Math.max(fromMs, Math.floor(created / HOUR_MS) * HOUR_MS);
  const last = Math.min(toMs, deleted === undefined ? toMs : Math.floor(deleted / HOUR_MS) * HOUR_MS + HOUR_MS);
  const hours: number[] = [];
  for (let h = first; h < last; h += HOUR_MS) hours.push(h);
  return hours;
}
