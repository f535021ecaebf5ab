// Reconciliation (SPEC 5): for the final hours of a window, per load balancer, the bytes of its
// records plus those held or discarded equal the bytes of the deltas taken from the data plane.
// Any difference is listed; `lbmeter audit reconcile` exits non-zero on one.

import type { Db } from '../store/store.ts';
import { takenBytesPerLoadBalancer } from '../store/readings.ts';
import { finalBytesPerLoadBalancer } from '../store/usageRecords.ts';
import { lastFinalHour } from '../store/hours.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';
import type { Transfers } from '../domain/types.ts';

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

const ZERO: Transfers = { bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n };
const KEYS = ['bytesIn', 'bytesOut', 'bytesInSsl', 'bytesOutSsl'] as const;
const add = (a: Transfers, b: Transfers): Transfers => ({ bytesIn: a.bytesIn + b.bytesIn, bytesOut: a.bytesOut + b.bytesOut, bytesInSsl: a.bytesInSsl + b.bytesInSsl, bytesOutSsl: a.bytesOutSsl + b.bytesOutSsl });
const sub = (a: Transfers, b: Transfers): Transfers => ({ bytesIn: a.bytesIn - b.bytesIn, bytesOut: a.bytesOut - b.bytesOut, bytesInSsl: a.bytesInSsl - b.bytesInSsl, bytesOutSsl: a.bytesOutSsl - b.bytesOutSsl });

/** Reconciles the final hours among [fromMs, toMs) (whole hours: the window's ends move down to the hour). */
export async function reconcile(db: Db, fromMs: number, toMs: number): Promise<Reconciliation> {
  const lastFinal = await lastFinalHour(db);
  const from = floorHour(fromMs);
  const to = Math.max(from, Math.min(floorHour(toMs), lastFinal === undefined ? -Infinity : lastFinal + HOUR_MS));
  const taken = from < to ? await takenBytesPerLoadBalancer(db, from, to) : new Map();
  const records = from < to ? await finalBytesPerLoadBalancer(db, from, to) : new Map();
  const result: Reconciliation = { fromMs: from, toMs: to, loadBalancers: 0, taken: ZERO, withheld: ZERO, records: ZERO, differences: [] };
  const ids = [...new Set([...taken.keys(), ...records.keys()])].sort((a, b) => a - b);
  for (const id of ids) {
    const t = taken.get(id);
    const r = records.get(id);
    const line: ReconciliationLine = {
      accountId: t?.accountId ?? r!.accountId, loadBalancerId: id,
      taken: t?.taken ?? ZERO, withheld: t?.withheld ?? ZERO, records: r?.bytes ?? ZERO, difference: ZERO,
    };
    line.difference = sub(sub(line.taken, line.withheld), line.records);
    result.loadBalancers++;
    result.taken = add(result.taken, line.taken);
    result.withheld = add(result.withheld, line.withheld);
    result.records = add(result.records, line.records);
    if (KEYS.some((k) => line.difference[k] !== 0n)) result.differences.push(line);
  }
  return result;
}
