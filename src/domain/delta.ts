// Counter snapshots to exact byte deltas (SPEC 5, Deltas). One load balancer on one host has
// two counter groups, plain and SSL (two HAProxy frontends); each resets on its own.

import type { CounterReading, Transfers } from './types.ts';

/** The last counters seen for (load balancer, host), or a zero baseline set by an event. */
export interface CounterBaseline extends Transfers {
  /** Process identity the counters belong to; ZERO_BASELINE accepts any process. */
  processKey: string;
  timeMs: number;
}

export const ZERO_BASELINE = '*';

export interface DeltaInput {
  previous: CounterBaseline | undefined;
  current: CounterReading;
  processKey: string;
  processStartMs: number;
  /** When the load balancer was created; undefined when no CREATE event is known. */
  createdMs: number | undefined;
}

export interface Delta extends Transfers {
  /** Which groups restarted counting (for logs and metrics). */
  reset: boolean;
}

export function computeDelta({ previous, current, processKey, processStartMs, createdMs }: DeltaInput): Delta {
  if (!previous) {
    // A process that started after the load balancer existed has counted all of its bytes; an
    // older process carries history from before we watched, so its first reading is a baseline.
    const countsInFull = createdMs !== undefined && processStartMs >= createdMs;
    return countsInFull ? { ...bytesOf(current), reset: false } : { bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, reset: false };
  }
  const restarted = previous.processKey !== ZERO_BASELINE && previous.processKey !== processKey;
  const plainReset = restarted || current.bytesIn < previous.bytesIn || current.bytesOut < previous.bytesOut;
  const sslReset = restarted || current.bytesInSsl < previous.bytesInSsl || current.bytesOutSsl < previous.bytesOutSsl;
  return {
    bytesIn: plainReset ? current.bytesIn : current.bytesIn - previous.bytesIn,
    bytesOut: plainReset ? current.bytesOut : current.bytesOut - previous.bytesOut,
    bytesInSsl: sslReset ? current.bytesInSsl : current.bytesInSsl - previous.bytesInSsl,
    bytesOutSsl: sslReset ? current.bytesOutSsl : current.bytesOutSsl - previous.bytesOutSsl,
    reset: plainReset || sslReset,
  };
}

function bytesOf(c: CounterReading) {
  return { bytesIn: c.bytesIn, bytesOut: c.bytesOut, bytesInSsl: c.bytesInSsl, bytesOutSsl: c.bytesOutSsl };
}

export function exceedsCeiling(d: Delta, ceiling: bigint): boolean {
  return d.bytesIn > ceiling || d.bytesOut > ceiling || d.bytesInSsl > ceiling || d.bytesOutSsl > ceiling;
}
