// Stats sources behind one small interface (like Octavia's statistics drivers): each reads one
// host's process identity and frontend counters.

import type { ProcessIdentity } from '../../domain/types.ts';
import type { FrontendReadings } from '../frontendReadings.ts';

export interface FrontendCounters {
  name: string;
  bytesIn: bigint;
  bytesOut: bigint;
  /** Current sessions (scur). */
  sessions: number;
}

export interface StatsReading {
  process: ProcessIdentity;
  loadBalancers: FrontendReadings;
}

export interface StatsSource {
  readonly description: string;
  read(signal: AbortSignal): Promise<StatsReading>;
}
