// The audit of one usage record (SPEC 5, Audit): the readings and events that made it, derived
// again from the stored facts by the same rollup that wrote it, so what it shows is what billed.

import type { Db } from '../store/store.ts';
import { recordById, type UsageRecord } from '../store/usageRecords.ts';
import { eventsOfLoadBalancers } from '../store/events.ts';
import { anomaliesOf, type Anomaly } from '../store/anomalies.ts';
import type { ReadingRow } from '../store/readings.ts';
import { rollHour } from '../usage/hourRollup.ts';
import { timeline } from '../domain/lifecycle.ts';
import { totalsOf } from '../domain/rollup.ts';
import type { ReadingDecision } from '../domain/reading.ts';
import { HOUR_MS } from '../domain/time.ts';
import type { LifecycleEvent, Transfers } from '../domain/types.ts';

export interface SourceReading {
  reading: ReadingRow;
  decision: ReadingDecision;
  billed: Transfers;
  poll: boolean;
}

export interface RecordSources {
  record: UsageRecord & { closing: boolean; final: boolean; revision: number; voided: boolean; exported: boolean; ruleVersion: number };
  /** The readings the record took, by host and time, each with what it billed and why. */
  readings: SourceReading[];
  /** The events that opened, closed or shaped the record (and the CREATE, for the first one). */
  events: LifecycleEvent[];
  /** Anomalies held, released or discarded in the record's span. */
  anomalies: Anomaly[];
  /** The bytes its readings bill: equal to the record's, or the audit says they differ. */
  billed: Transfers;
  matches: boolean;
}

/** A record is named by its load balancer and its id, unique within it (domain/recordIds.ts). */
export async function recordSources(db: Db, lbId: number, recordId: number): Promise<RecordSources | undefined> {
  const record = await recordById(db, lbId, recordId);
  if (!record) return undefined;
  const rolled = await rollHour(db, record.hourMs, record.hourMs + HOUR_MS, { loadBalancerIds: [lbId], withSources: true });
  const i = rolled.drafts.findIndex((d) => d.startMs === record.startMs && d.closing === record.closing);
  const taken = i < 0 ? [] : rolled.sources![i]!;
  const readings = taken
    .map((d) => ({ reading: d.reading as ReadingRow, decision: d.decision, billed: d.billed, poll: d.poll }))
    .sort((a, b) => a.reading.hostId - b.reading.hostId || a.reading.timeMs - b.reading.timeMs);
  const steps = timeline((await eventsOfLoadBalancers(db, [lbId])).get(lbId) ?? []);
  const events = steps.map((s) => s.event).filter((e, n) => (n === 0 && record.startMs === e.timeMs) || (e.timeMs >= record.startMs && e.timeMs <= record.endMs));
  const billed = totalsOf(taken);
  const matches = i >= 0 && !record.voided && billed.bytesIn === record.bytesIn && billed.bytesOut === record.bytesOut
    && billed.bytesInSsl === record.bytesInSsl && billed.bytesOutSsl === record.bytesOutSsl;
  return {
    record, readings, events,
    anomalies: await anomaliesOf(db, lbId, record.startMs, record.endMs),
    billed: { bytesIn: billed.bytesIn, bytesOut: billed.bytesOut, bytesInSsl: billed.bytesInSsl, bytesOutSsl: billed.bytesOutSsl },
    matches,
  };
}
