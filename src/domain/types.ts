// The vocabulary of SPEC section 1, as plain values.

export const LB_STATUSES = ['ACTIVE', 'BUILD', 'PENDING_UPDATE', 'PENDING_DELETE', 'SUSPENDED', 'ERROR', 'DELETED'] as const;
export type LbStatus = (typeof LB_STATUSES)[number];

export const SSL_MODES = ['OFF', 'ON', 'MIXED'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export const VIP_TYPES = ['PUBLIC', 'SERVICENET'] as const;
export type VipType = (typeof VIP_TYPES)[number];

export const IP_VERSIONS = ['IPV4', 'IPV6'] as const;
export type IpVersion = (typeof IP_VERSIONS)[number];

// Listed in the order events at the same instant are applied, so that replay is independent of
// arrival order: creation first, deletion last.
export const EVENT_TYPES = [
  'CREATE_LOADBALANCER',
  'CREATE_VIRTUAL_IP',
  'DELETE_VIRTUAL_IP',
  'SSL_ONLY_ON',
  'SSL_MIXED_ON',
  'SSL_OFF',
  'UNSUSPEND_LOADBALANCER',
  'SUSPEND_LOADBALANCER',
  'SUSPENDED_LOADBALANCER',
  'DELETE_LOADBALANCER',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface VirtualIp {
  id: number;
  address: string;
  ipVersion: IpVersion;
  type: VipType;
}

/** What an event says the load balancer looks like after it; omitted fields keep their value. */
export interface LoadBalancerPatch {
  name?: string;
  protocol?: string;
  clusterId?: number;
  status?: LbStatus;
  sslMode?: SslMode;
  virtualIps?: VirtualIp[];
}

export interface LifecycleEvent {
  id: string;
  type: EventType;
  timeMs: number;
  accountId: number;
  loadBalancerId: number;
  loadBalancer?: LoadBalancerPatch;
}

export interface LoadBalancerState {
  id: number;
  accountId: number;
  name: string;
  protocol: string;
  clusterId: number;
  status: LbStatus;
  sslMode: SslMode;
  virtualIps: VirtualIp[];
  createdMs: number;
  updatedMs: number;
  deletedMs?: number;
}

/** Bytes in and out, plain and SSL: what a counter, a delta or a correction carries. */
export interface Transfers {
  bytesIn: bigint;
  bytesOut: bigint;
  bytesInSsl: bigint;
  bytesOutSsl: bigint;
}

/** Transfers as operators read them in anomaly details and the CLI. */
export function describeTransfers(t: Transfers): string {
  return `in=${t.bytesIn} out=${t.bytesOut} inSsl=${t.bytesInSsl} outSsl=${t.bytesOutSsl}`;
}

/** Counters of one load balancer on one host at one instant (SPEC 4, samples). */
export interface CounterReading extends Transfers {
  connections: number;
  connectionsSsl: number;
}

export interface ProcessIdentity {
  pid: number;
  startMs: number;
}

export function processKey(p: ProcessIdentity): string {
  return `${p.pid}@${p.startMs}`;
}
