// Data held for an operator instead of being billed silently (SPEC 5).

import type { Db } from './store.ts';
import { num, optNum } from './rows.ts';

export type AnomalyKind = 'DELTA_ABOVE_CEILING' | 'LATE_SAMPLE' | 'LATE_EVENT' | 'SAMPLE_AFTER_DELETE' | 'STALE_SAMPLE';

export interface Anomaly {
  id: number;
  kind: AnomalyKind;
  timeMs: number;
  loadBalancerId?: number;
  hostId?: number;
  detail: string;
  status: 'HELD' | 'RELEASED' | 'DISCARDED';
  createdMs: number;
}

export async function holdAnomalies(db: Db, items: Omit<Anomaly, 'id' | 'status' | 'createdMs'>[], nowMs = Date.now()): Promise<void> {
  if (items.length === 0) return;
  await db.insertInto('anomalies').values(items.map((a) => ({
    kind: a.kind, time_ms: a.timeMs, load_balancer_id: a.loadBalancerId ?? null, host_id: a.hostId ?? null,
    detail: a.detail, status: 'HELD', created_ms: nowMs,
  }))).execute();
}

export async function listAnomalies(db: Db, status?: Anomaly['status']): Promise<Anomaly[]> {
  let q = db.selectFrom('anomalies').selectAll().orderBy('id');
  if (status) q = q.where('status', '=', status);
  return (await q.execute()).map((r) => ({
    id: num(r.id), kind: r.kind as AnomalyKind, timeMs: num(r.time_ms), loadBalancerId: optNum(r.load_balancer_id),
    hostId: optNum(r.host_id), detail: r.detail, status: r.status as Anomaly['status'], createdMs: num(r.created_ms),
  }));
}
