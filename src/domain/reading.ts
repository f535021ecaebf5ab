// What a stored reading bills (SPEC 5, Deltas and Order independence). Ingest stores facts: the
// reading, its process, and its delta by the reset rule. Everything that depends on lifecycle
// events is decided here, at rollup, from everything known for the hour, so the records do not
// depend on whether the events arrived before or after the readings.

import { hasBytes, NO_BYTES, type ReadingKind } from './delta.ts';
import type { Transfers } from './types.ts';

/** Why a reading was held at ingest: its delta was above the ceiling, or its hour was final. */
export type IngestHold = 'NONE' | 'CEILING' | 'LATE';

/** What an operator decided about a held reading. */
export type OperatorDecision = 'NONE' | 'RELEASED' | 'DISCARDED';

/** A reading as stored: its delta by the reset rule, and what ingest held it for. */
export interface StoredReading extends Transfers {
  hostId: number;
  timeMs: number;
  kind: ReadingKind;
  hold: IngestHold;
  /** An operator's decision on what held it (a ceiling, a late arrival, or a reading after deletion). */
  operator: OperatorDecision;
  /** How many readings this row stands for: 1, or an hourly row's count (then connections are their sums). */
  polls?: number;
  connections: number;
  connectionsSsl: number;
}

/** The lifecycle facts a decision needs: when the load balancer was created and deleted, if known. */
export interface LifeSpan {
  createdMs: number | undefined;
  deletedMs: number | undefined;
}

export type ReadingDecision =
  | 'NORMAL' // current minus previous
  | 'RESET' // counters restarted: bytes since the restart
  | 'HOURLY' // a host's billed readings of the hour, compacted into one row
  | 'FIRST_IN_FULL' // first reading on the host, counters began after the CREATE
  | 'BASELINE' // first reading on the host before any CREATE: it may hold older traffic
  | 'HELD_CEILING' // above the delta ceiling, waiting for an operator
  | 'HELD_LATE' // arrived after its hour was final, waiting for an operator
  | 'AFTER_DELETE' // bytes counted after the deletion, waiting for an operator
  | 'RELEASED_AFTER_DELETE' // an operator billed them in the last record
  | 'NO_LOADBALANCER'; // no CREATE known for this load balancer

export interface Decided {
  decision: ReadingDecision;
  /** Bytes billed in the record the reading belongs to. */
  billed: Transfers;
  /** The reading counts as a poll (numPolls, connections) of the record it belongs to. */
  poll: boolean;
}

export function decideReading(r: StoredReading, life: LifeSpan): Decided {
  const released = r.operator === 'RELEASED';
  if (r.hold === 'LATE' && !released) return { decision: 'HELD_LATE', billed: NO_BYTES, poll: false };
  if (life.createdMs === undefined) return { decision: 'NO_LOADBALANCER', billed: NO_BYTES, poll: false };
  // Counters first read before the load balancer existed here may hold somebody else's traffic.
  if (r.kind === 'FIRST' && r.timeMs < life.createdMs) return { decision: 'BASELINE', billed: NO_BYTES, poll: true };
  if (r.hold === 'CEILING' && !released) return { decision: 'HELD_CEILING', billed: NO_BYTES, poll: true };
  if (life.deletedMs !== undefined && r.timeMs > life.deletedMs) {
    if (released) return { decision: 'RELEASED_AFTER_DELETE', billed: bytesOf(r), poll: false };
    return { decision: 'AFTER_DELETE', billed: NO_BYTES, poll: false };
  }
  return { decision: r.kind === 'FIRST' ? 'FIRST_IN_FULL' : r.kind, billed: bytesOf(r), poll: true };
}

/** A reading after the deletion needs an anomaly when it counted bytes and nobody decided yet. */
export function needsAfterDeleteHold(r: StoredReading, d: Decided): boolean {
  return d.decision === 'AFTER_DELETE' && r.operator === 'NONE' && hasBytes(r);
}

export function bytesOf(t: Transfers): Transfers {
  return { bytesIn: t.bytesIn, bytesOut: t.bytesOut, bytesInSsl: t.bytesInSsl, bytesOutSsl: t.bytesOutSsl };
}
