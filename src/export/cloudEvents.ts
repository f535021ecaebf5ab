// Usage records as CloudEvents 1.0 (JSON, batch mode). The id of a record's event is derived
// from what identifies the record (account, load balancer, UTC start, closing or not) and its
// revision, never from a row id, a clock or a zone: the same record gets the same id on any
// machine, so the receiver can drop a redelivery, and a correction of a record it has (a new
// revision) gets a new id, so the receiver takes it as the amendment it is.

import { createHash } from 'node:crypto';
import type { ExportableRecord } from '../store/exports.ts';

export const USAGE_EVENT_TYPE = 'com.lbmeter.usage.hourly.v1';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

/** A fixed namespace for name-based (version 5) UUIDs of usage records. */
const NAMESPACE = Buffer.from('6c626d65-7465-5275-9361-67652d726563'.replace(/-/g, ''), 'hex');

/** What identifies a record anywhere: account, load balancer, UTC start, closing or not. */
export const recordName = (r: Pick<ExportableRecord, 'accountId' | 'loadBalancerId' | 'startMs' | 'closing'>) =>
  `${r.accountId}/${r.loadBalancerId}/${new Date(r.startMs).toISOString()}/${r.closing ? 'closing' : 'record'}`;

/** RFC 4122 version 5 UUID of the record's identity. */
export function usageEventId(r: Pick<ExportableRecord, 'accountId' | 'loadBalancerId' | 'startMs' | 'closing'> & { revision?: number }): string {
  // Revision 0 keeps the name ids were made from before revisions existed.
  return nameUuid(`${recordName(r)}${r.revision ? `/revision-${r.revision}` : ''}`);
}

/** RFC 4122 version 5 UUID of a name, in lbmeter's namespace. */
export function nameUuid(name: string): string {
  const b = createHash('sha1').update(NAMESPACE).update(name).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const utc = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export function usageEvent(r: ExportableRecord, source: string) {
  return {
    specversion: '1.0',
    id: usageEventId(r),
    source,
    type: USAGE_EVENT_TYPE,
    subject: `accounts/${r.accountId}/loadbalancers/${r.loadBalancerId}`,
    time: utc(r.endMs),
    datacontenttype: 'application/json',
    data: {
      recordId: r.id,
      accountId: r.accountId,
      loadBalancerId: r.loadBalancerId,
      startTime: utc(r.startMs),
      endTime: utc(r.endMs),
      closing: r.closing,
      // 0 for the record as first exported; each correction of an exported record adds one.
      revision: r.revision,
      // A correction removed the record (a late DELETE released, say): bill nothing for it.
      ...(r.voided ? { voided: true } : {}),
      // The billing rule that computed it (lbmeter's CHANGELOG, Billing rule changes).
      ruleVersion: r.ruleVersion,
      incomingTransfer: r.bytesIn,
      outgoingTransfer: r.bytesOut,
      incomingTransferSsl: r.bytesInSsl,
      outgoingTransferSsl: r.bytesOutSsl,
      averageNumConnections: r.averageNumConnections,
      averageNumConnectionsSsl: r.averageNumConnectionsSsl,
      numVips: r.numVips,
      numPolls: r.numPolls,
      vipType: r.vipType,
      sslMode: r.sslMode,
      ...(r.eventType ? { eventType: r.eventType } : {}),
    },
  };
}
