// Domain values to response values: times preformatted in the display zone, transfers exact.

import type { TimePrinter } from '../domain/time.ts';
import type { UsageRecord } from '../store/usageRecords.ts';
import type { AccountUsageRecord } from '../store/accountUsage.ts';
import type { LoadBalancerView } from '../store/loadBalancers.ts';

type Partial<T> = Omit<T, 'id'> & { id?: number };

export function usageRecordView(r: Partial<UsageRecord>, printer: TimePrinter, management: boolean) {
  const v: Record<string, unknown> = {
    id: r.id,
    averageNumConnections: r.averageNumConnections,
    incomingTransfer: r.bytesIn,
    outgoingTransfer: r.bytesOut,
    averageNumConnectionsSsl: r.averageNumConnectionsSsl,
    incomingTransferSsl: r.bytesInSsl,
    outgoingTransferSsl: r.bytesOutSsl,
    numVips: r.numVips,
    numPolls: r.numPolls,
    startTime: printer.print(r.startMs),
    endTime: printer.print(r.endMs),
    vipType: r.vipType,
    sslMode: r.sslMode,
    eventType: r.eventType,
  };
  if (management) {
    v.accountId = r.accountId;
    v.loadBalancerId = r.loadBalancerId;
  }
  return v;
}

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
  return { id: v.id, address: v.address, ipVersion: v.ipVersion, type: v.type };
}

export function billableLoadBalancerView(lb: LoadBalancerView, printer: TimePrinter) {
  return {
    id: lb.id, name: lb.name, protocol: lb.protocol, status: lb.status,
    virtualIps: lb.virtualIps.map(virtualIpView),
    created: { time: printer.print(lb.createdMs) },
    updated: { time: printer.print(lb.updatedMs) },
  };
}
