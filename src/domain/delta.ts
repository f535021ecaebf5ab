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

export function exceedsCeiling(d: Transfers, ceiling: bigint): boolean {
  return d.bytesIn > ceiling || d.bytesOut > ceiling || d.bytesInSsl > ceiling || d.bytesOutSsl > ceiling;
}

export function hasBytes(d: Transfers): boolean {
  return d.bytesIn + d.bytesOut + d.bytesInSsl + d.bytesOutSsl > 0n;
}

export const NO_BYTES: Transfers = Object.freeze({ bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n });
