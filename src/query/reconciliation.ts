// Reconciliation (SPEC 5): for the final hours of a window, per load balancer, the bytes of its
// records plus those held or discarded equal the bytes of the deltas taken from the data plane.
// Any difference is listed; `lbmeter audit reconcile` exits non-zero on one.

import type { Db } from '../store/store.ts';
import { takenBytesPerLoadBalancer } from '../store/readings.ts';
import { finalBytesPerLoadBalancer } from '../store/usageRecords.ts';
import { lastFinalHour } from '../store/hours.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';
import type { Transfers } from '../domain/types.ts';
import { addTransfers, NO_BYTES, subtractTransfers } from '../domain/delta.ts';

export interface ReconciliationLine {
  accountId: number;
  loadBalancerId: number;
  taken: Transfers;
  withheld: Transfers;
  records: Transfers;
  /** taken − withheld − records: zero when every byte is accounted for. */
  difference: Transfers;
}

export interface Reconciliation {
  /** The final hours checked: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  loadBalancers: number;
  taken: Transfers;
  withheld: Transfers;
  records: Transfers;
  differences: ReconciliationLine[];
}

const KEYS = ['bytesIn', 'bytesOut', 'bytesInSsl', 'bytesOutSsl'] as const;

/** Reconciles the final hours among [fromMs, toMs) (whole hours: the window's ends move down to the hour). */
export async function reconcile(db: Db, fromMs: number, toMs: number): Promise<Reconciliation> {
  const lastFinal = await lastFinalHour(db);
  const from = floorHour(fromMs);
  const to = Math.max(from, Math.min(floorHour(toMs), lastFinal === undefined ? -Infinity : lastFinal + HOUR_MS));
  const taken = from < to ? await takenBytesPerLoadBalancer(db, from, to) : new Map();
  const records = from < to ? await finalBytesPerLoadBalancer(db, from, to) : new Map();
  const result: Reconciliation = { fromMs: from, toMs: to, loadBalancers: 0, taken: NO_BYTES, withheld: NO_BYTES, records: NO_BYTES, differences: [] };
  const ids = [...new Set([...taken.keys(), ...records.keys()])].sort((a, b) => a - b);
  for (const id of ids) {
    const t = taken.get(id);
    const r = records.get(id);
    const line: ReconciliationLine = {
      accountId: t?.accountId ?? r!.accountId, loadBalancerId: id,
      taken: t?.taken ?? NO_BYTES, withheld: t?.withheld ?? NO_BYTES, records: r?.bytes ?? NO_BYTES, difference: NO_BYTES,
    };
    line.difference = subtractTransfers(subtractTransfers(line.taken, line.withheld), line.records);
    result.loadBalancers++;
    result.taken = addTransfers(result.taken, line.taken);
    result.withheld = addTransfers(result.withheld, line.withheld);
    result.records = addTransfers(result.records, line.records);
    if (KEYS.some((k) => line.difference[k] !== 0n)) result.differences.push(line);
  }
  return result;
}
