// Domain values to response values: times preformatted in the display zone, transfers exact.

import { wireAddress } from '../domain/ipAddress.ts';
import type { TimePrinter } from '../domain/time.ts';
import type { AccountUsageRecord } from '../store/accountUsage.ts';
import type { LoadBalancerView } from '../store/loadBalancers.ts';
import type { RecordSources } from '../query/recordSources.ts';
import type { Reconciliation } from '../query/reconciliation.ts';
import type { Transfers } from '../domain/types.ts';

export function accountUsageView(r: AccountUsageRecord, printer: TimePrinter, management: boolean) {
  const v: Record<string, unknown> = {
    numLoadBalancers: r.numLoadBalancers,
    numPublicVips: r.numPublicVips,
    numServicenetVips: r.numServicenetVips,
    startTime: printer.print(r.timeMs),
  };
  if (management) v.accountId = r.accountId;
  return v;
}

export function accountLoadBalancerView(lb: LoadBalancerView) {
  return {
    loadBalancerId: lb.id, loadBalancerName: lb.name, clusterId: lb.clusterId, clusterName: lb.clusterName,
    status: lb.status, protocol: lb.protocol,
  };
}

export function virtualIpView(v: LoadBalancerView['virtualIps'][number]) {
  return { id: v.id, address: wireAddress(v.address), ipVersion: v.ipVersion, type: v.type };
}

export function billableLoadBalancerView(lb: LoadBalancerView, printer: TimePrinter) {
  return {
    id: lb.id, name: lb.name, protocol: lb.protocol, status: lb.status,
    virtualIps: lb.virtualIps.map(virtualIpView),
    created: { time: printer.print(lb.createdMs) },
    updated: { time: printer.print(lb.updatedMs) },
  };
}

/** Four byte counts under the API's names. */
export function transferView(t: Transfers) {
  return { incomingTransfer: t.bytesIn, outgoingTransfer: t.bytesOut, incomingTransferSsl: t.bytesInSsl, outgoingTransferSsl: t.bytesOutSsl };
}

export function recordSourcesView(s: RecordSources, printer: TimePrinter) {
  const r = s.record;
  return {
    recordId: r.id, accountId: r.accountId, loadBalancerId: r.loadBalancerId, startTime: printer.print(r.startMs), endTime: printer.print(r.endMs),
    final: r.final, revision: r.revision, voided: r.voided, exported: r.exported, ruleVersion: r.ruleVersion, matches: s.matches,
    record: transferView(r), billed: transferView(s.billed),
    readings: s.readings.map(({ reading: x, decision, billed, poll }) => ({
      hostId: x.hostId, time: printer.print(x.timeMs), pid: x.pid,
      processStartTime: x.processStartMs === undefined ? undefined : printer.print(x.processStartMs),
      kind: x.kind, decision, poll, polls: x.polls ?? 1, connections: x.connections, connectionsSsl: x.connectionsSsl,
      counters: x.counters && transferView(x.counters), delta: transferView(x), billed: transferView(billed),
    })),
    events: s.events.map((e) => ({ id: e.id, type: e.type, time: printer.print(e.timeMs) })),
    anomalies: s.anomalies.map((a) => ({ id: a.id, kind: a.kind, status: a.status, time: printer.print(a.timeMs), hostId: a.hostId, eventId: a.eventId, detail: a.detail })),
  };
}

export function reconciliationView(r: Reconciliation, printer: TimePrinter) {
  return {
    startTime: printer.print(r.fromMs), endTime: printer.print(r.toMs), loadBalancers: r.loadBalancers, balanced: r.differences.length === 0,
    taken: transferView(r.taken), withheld: transferView(r.withheld), records: transferView(r.records),
    differences: r.differences.map((d) => ({
      accountId: d.accountId, loadBalancerId: d.loadBalancerId,
      taken: transferView(d.taken), withheld: transferView(d.withheld), records: transferView(d.records), difference: transferView(d.difference),
    })),
  };
}
