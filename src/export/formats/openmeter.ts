// Usage for OpenMeter, unmodified (docs/integrations.md): CloudEvents it meters with SUM over a
// JSON path of `data`, the subject the account (OpenMeter's customer), the load balancer, VIP
// type and SSL mode there to group by. A record is its changes (changes.ts), each an event with
// its own id, so SUM over a record's events is its latest figures. OpenMeter drops an event whose
// id and source it has: a redelivery, or the chain sent again, counts once.

import type { ExportableRecord } from '../../store/exports.ts';
import { nameUuid, recordName, utc } from '../cloudEvents.ts';
import { changesOf } from './changes.ts';

export const OPENMETER_EVENT_TYPE = 'com.lbmeter.usage';

export function openMeterEvents(records: ExportableRecord[], source: string) {
  return records.flatMap((r) => changesOf(r).map((c) => ({
    specversion: '1.0',
    id: nameUuid(`${recordName(r)}/openmeter/${c.name}`),
    source,
    type: OPENMETER_EVENT_TYPE,
    subject: String(r.accountId),
    time: utc(r.startMs),
    datacontenttype: 'application/json',
    data: {
      incomingTransfer: c.figures.bytesIn,
      outgoingTransfer: c.figures.bytesOut,
      incomingTransferSsl: c.figures.bytesInSsl,
      outgoingTransferSsl: c.figures.bytesOutSsl,
      loadBalancerHours: c.figures.hours,
      loadBalancerId: String(r.loadBalancerId),
      vipType: c.vipType,
      sslMode: c.sslMode,
      recordStartTime: utc(r.startMs),
      revision: c.revision,
    },
  })));
}
