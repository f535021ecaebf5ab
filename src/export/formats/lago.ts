// Usage for Lago, unmodified (docs/integrations.md): its events batch, one event a billable
// metric a change of a record (changes.ts), each with a deterministic `transaction_id` (Lago's
// idempotency key: a redelivery, or the chain sent again, counts once), the account mapped to
// the subscription by LBMETER_LAGO_SUBSCRIPTION, the signed amount in `properties.value` that the
// metrics SUM. Lago takes at most 100 events a request: the batch is sent in parts.

import type { ExportableRecord } from '../../store/exports.ts';
import { recordName } from '../cloudEvents.ts';
import { changesOf, type Figures } from './changes.ts';

/** The billable metrics lbmeter sends, by code, and the figure each sums (deploy/lago/). */
export const LAGO_METRICS: Record<string, (f: Figures) => bigint | number> = {
  lb_bytes_in: (f) => f.bytesIn,
  lb_bytes_out: (f) => f.bytesOut,
  lb_bytes_in_ssl: (f) => f.bytesInSsl,
  lb_bytes_out_ssl: (f) => f.bytesOutSsl,
  lb_hours: (f) => f.hours,
};

export const LAGO_EVENTS_PER_REQUEST = 100;

/** `{accountId}` and `{loadBalancerId}` in the template replaced: Lago's external_subscription_id. */
export const subscriptionOf = (template: string, r: Pick<ExportableRecord, 'accountId' | 'loadBalancerId'>) =>
  template.replaceAll('{accountId}', String(r.accountId)).replaceAll('{loadBalancerId}', String(r.loadBalancerId));

export function lagoEvents(records: ExportableRecord[], subscriptionTemplate: string) {
  return records.flatMap((r) => changesOf(r).flatMap((c) => Object.entries(LAGO_METRICS).map(([code, value]) => ({
    transaction_id: `lbmeter/${recordName(r)}/${c.name}/${code}`,
    external_subscription_id: subscriptionOf(subscriptionTemplate, r),
    code,
    timestamp: Math.floor(r.startMs / 1000),
    properties: { value: value(c.figures), load_balancer_id: String(r.loadBalancerId), vip_type: c.vipType, ssl_mode: c.sslMode },
  }))));
}
