// An operator's decision on held data (SPEC 5, Deltas and Late data). Releasing bills the held
// delta in the record its reading belongs to: through the next rollup while that hour is
// provisional, directly into the final record as a correction while it is not exported yet.
// Discarding leaves it unbilled. Either way the decision is recorded on the anomaly.

import type { Store } from '../store/store.ts';
import { getAnomaly, resolveAnomaly, type Anomaly } from '../store/anomalies.ts';
import { billHeldSample } from '../store/counters.ts';
import { addToRecord, recordBillingAt } from '../store/usageRecords.ts';
import { isHourFinal } from '../store/hours.ts';
import { floorHour } from '../domain/time.ts';

/** The decision cannot be made (the API answers 404 or 409, the CLI exits 1). */
export class CorrectionRefused extends Error {
  constructor(message: string, readonly notFound = false) {
    super(message);
  }
}

const MAX_STORED = 2n ** 63n - 1n;

export async function releaseAnomaly(store: Store, id: number, nowMs = Date.now()): Promise<Anomaly> {
  return store.transaction(async (trx) => {
    const anomaly = await heldAnomaly(trx, id);
    const held = anomaly.held;
    if (!held || anomaly.loadBalancerId === undefined || anomaly.hostId === undefined) {
      throw new CorrectionRefused(`anomaly ${id} (${anomaly.kind}) holds no bytes to bill; discard it to acknowledge it`);
    }
    if ([held.bytesIn, held.bytesOut, held.bytesInSsl, held.bytesOutSsl].some((b) => b > MAX_STORED)) {
      throw new CorrectionRefused(`anomaly ${id} holds more than 2^63 - 1 bytes in one counter, which no usage record can carry; discard it`);
    }
    const where = { loadBalancerId: anomaly.loadBalancerId, hostId: anomaly.hostId, timeMs: anomaly.timeMs };
    if (!(await billHeldSample(trx, where, held))) throw new CorrectionRefused(`anomaly ${id}: its reading is no longer stored (purged)`);
    if (await isHourFinal(trx, floorHour(anomaly.timeMs - 1))) {
      const record = await recordBillingAt(trx, anomaly.loadBalancerId, anomaly.timeMs);
      if (!record) throw new CorrectionRefused(`anomaly ${id}: load balancer ${anomaly.loadBalancerId} has no usage record to carry it`);
      if (record.exported) throw new CorrectionRefused(`anomaly ${id}: usage record ${record.id} was already exported; bill the correction in the billing system`);
      await addToRecord(trx, record.id, held);
    }
    await resolveAnomaly(trx, id, 'RELEASED', nowMs);
    return (await getAnomaly(trx, id))!;
  });
}

export async function discardAnomaly(store: Store, id: number, nowMs = Date.now()): Promise<Anomaly> {
  return store.transaction(async (trx) => {
    await heldAnomaly(trx, id);
    await resolveAnomaly(trx, id, 'DISCARDED', nowMs);
    return (await getAnomaly(trx, id))!;
  });
}

async function heldAnomaly(db: Parameters<typeof getAnomaly>[0], id: number): Promise<Anomaly> {
  const anomaly = await getAnomaly(db, id);
  if (!anomaly) throw new CorrectionRefused(`no anomaly ${id}`, true);
  if (anomaly.status !== 'HELD') throw new CorrectionRefused(`anomaly ${id} was already ${anomaly.status.toLowerCase()}`);
  return anomaly;
}
