// One description per response type. The XML writer and the JSON response schema are both
// derived from it, so the two formats cannot drift apart.

export const NS = {
  public: 'http://docs.openstack.org/loadbalancers/api/v1.0',
  mgmt: 'http://docs.openstack.org/loadbalancers/api/management/v1.0',
  atom: 'http://www.w3.org/2005/Atom',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;
export type Namespace = 'public' | 'mgmt';

/**
 * int: JSON integer; bigint: exact integer (values are bigint); decimal: JSON number, XML "0.0";
 * string: text (times arrive preformatted); boolean: JSON true/false, XML "true"/"false".
 */
export type FieldKind = 'int' | 'bigint' | 'decimal' | 'string' | 'boolean';

export interface Field {
  name: string;
  kind: FieldKind;
  optional?: boolean;
}

export interface Child {
  /** Key of the value in the JSON object (an array when many). */
  json: string;
  /** Element name of each item in XML. */
  xml: string;
  shape: Shape;
  many: boolean;
  /** An XML element wrapping the items (extended load balancers' virtualIps). */
  xmlWrapper?: string;
  optional?: boolean;
}

export interface Shape {
  ns: Namespace;
  attrs: Field[];
  children: Child[];
  /**
   * The schema type the element is an instance of, in that namespace (`xsi:type`): where the
   * element's own declaration is another type (the management `virtualIp`, which needs a ticket).
   */
  xsiType?: { name: string; ns: Namespace };
  /** Paging links after the children: JSON "links", XML atom:link. */
  links?: boolean;
}

export interface Link {
  href: string;
  rel: 'next' | 'previous';
}

export const f = (name: string, kind: FieldKind, optional = false): Field => ({ name, kind, optional });

// Usage records (SPEC 3): public form, and the management form with account and load balancer.
const usageFields: Field[] = [
  f('id', 'int', true), // the provisional record of the hour in progress has no id yet
  f('averageNumConnections', 'decimal'), f('incomingTransfer', 'bigint'), f('outgoingTransfer', 'bigint'),
  f('averageNumConnectionsSsl', 'decimal'), f('incomingTransferSsl', 'bigint'), f('outgoingTransferSsl', 'bigint'),
  f('numVips', 'int'), f('numPolls', 'int'), f('startTime', 'string'), f('endTime', 'string'),
  f('vipType', 'string'), f('sslMode', 'string'), f('eventType', 'string', true),
];

export const loadBalancerUsageRecord: Shape = { ns: 'public', attrs: usageFields, children: [] };
export const mgmtLoadBalancerUsageRecord: Shape = {
  ns: 'mgmt',
  attrs: [usageFields[0], f('accountId', 'int'), f('loadBalancerId', 'int'), ...usageFields.slice(1)],
  children: [],
};

const accountCountFields = [f('numLoadBalancers', 'int'), f('numPublicVips', 'int'), f('numServicenetVips', 'int'), f('startTime', 'string')];
export const accountUsageRecord: Shape = { ns: 'public', attrs: accountCountFields, children: [] };
export const mgmtAccountUsageRecord: Shape = { ns: 'mgmt', attrs: [f('accountId', 'int'), ...accountCountFields], children: [] };

export const loadBalancerUsage: Shape = {
  ns: 'public',
  attrs: [f('loadBalancerId', 'int', true), f('loadBalancerName', 'string', true)],
  children: [{ json: 'loadBalancerUsageRecords', xml: 'loadBalancerUsageRecord', shape: loadBalancerUsageRecord, many: true }],
  links: true,
};

export const accountUsage: Shape = {
  ns: 'public',
  attrs: [],
  children: [{ json: 'accountUsageRecords', xml: 'accountUsageRecord', shape: accountUsageRecord, many: true }],
  links: true,
};

export const accountBilling: Shape = {
  ns: 'public',
  attrs: [f('accountId', 'int')],
  children: [
    { json: 'accountUsage', xml: 'accountUsage', shape: accountUsage, many: false },
    { json: 'loadBalancerUsages', xml: 'loadBalancerUsage', shape: loadBalancerUsage, many: true },
  ],
};

export const accountBillings: Shape = {
  ns: 'mgmt',
  attrs: [],
  children: [{ json: 'accountBillings', xml: 'accountBilling', shape: accountBilling, many: true }],
};

export const accountUsageRecords: Shape = {
  ns: 'mgmt', attrs: [], links: true,
  children: [{ json: 'accountUsageRecords', xml: 'accountUsageRecord', shape: mgmtAccountUsageRecord, many: true }],
};

export const loadBalancerUsageRecords: Shape = {
  ns: 'mgmt', attrs: [], links: true,
  children: [{ json: 'loadBalancerUsageRecords', xml: 'loadBalancerUsageRecord', shape: mgmtLoadBalancerUsageRecord, many: true }],
};

export const accountsInCluster: Shape = {
  ns: 'mgmt',
  attrs: [f('totalAccounts', 'int')],
  children: [{
    json: 'accountInCluster', xml: 'accountInCluster', many: true,
    shape: { ns: 'mgmt', attrs: [f('accountId', 'int'), f('clusterId', 'int'), f('loadBalancerCount', 'int')], children: [] },
  }],
};

const accountLoadBalancerFields = [
  f('loadBalancerId', 'int'), f('loadBalancerName', 'string'), f('clusterId', 'int'), f('clusterName', 'string'),
  f('status', 'string'), f('protocol', 'string'),
];

export const accountLoadBalancers: Shape = {
  ns: 'mgmt',
  attrs: [f('accountId', 'int')],
  children: [{ json: 'accountLoadBalancers', xml: 'accountLoadBalancer', many: true, shape: { ns: 'mgmt', attrs: accountLoadBalancerFields, children: [] } }],
};

const virtualIpFields = [f('id', 'int'), f('address', 'string'), f('ipVersion', 'string'), f('type', 'string')];

export const extendedAccountLoadbalancers: Shape = {
  ns: 'mgmt',
  attrs: [f('accountId', 'int')],
  children: [{
    json: 'extendedAccountLoadbalancers', xml: 'extendedAccountLoadbalancer', many: true,
    shape: {
      ns: 'mgmt',
      attrs: [...accountLoadBalancerFields, f('region', 'string')],
      // Public virtual IPs in management elements, as seed 003's example writes them.
      children: [{ json: 'virtualIps', xml: 'virtualIp', xmlWrapper: 'virtualIps', many: true, shape: { ns: 'mgmt', attrs: virtualIpFields, children: [], xsiType: { name: 'virtualIp', ns: 'public' } } }],
    },
  }],
};

const timeShape: Shape = { ns: 'public', attrs: [f('time', 'string')], children: [] };

export const loadBalancers: Shape = {
  ns: 'public', attrs: [], links: true,
  children: [{
    json: 'loadBalancers', xml: 'loadBalancer', many: true,
    shape: {
      ns: 'public',
      attrs: [f('id', 'int'), f('name', 'string'), f('protocol', 'string'), f('status', 'string')],
      children: [
        { json: 'virtualIps', xml: 'virtualIp', xmlWrapper: 'virtualIps', many: true, shape: { ns: 'public', attrs: virtualIpFields, children: [] } },
        { json: 'created', xml: 'created', many: false, shape: timeShape },
        { json: 'updated', xml: 'updated', many: false, shape: timeShape },
      ],
    },
  }],
};

// The audit (SPEC 5): a record's sources, and the reconciliation of a window's final hours.
const transfers: Field[] = [f('incomingTransfer', 'bigint'), f('outgoingTransfer', 'bigint'), f('incomingTransferSsl', 'bigint'), f('outgoingTransferSsl', 'bigint')];
const transferShape: Shape = { ns: 'mgmt', attrs: transfers, children: [] };

export const recordSources: Shape = {
  ns: 'mgmt',
  attrs: [
    f('recordId', 'int'), f('accountId', 'int'), f('loadBalancerId', 'int'), f('startTime', 'string'), f('endTime', 'string'),
    f('final', 'boolean'), f('revision', 'int'), f('voided', 'boolean'), f('exported', 'boolean'), f('ruleVersion', 'int'), f('matches', 'boolean'),
  ],
  children: [
    { json: 'record', xml: 'record', many: false, shape: transferShape },
    { json: 'billed', xml: 'billed', many: false, shape: transferShape },
    {
      json: 'readings', xml: 'reading', xmlWrapper: 'readings', many: true,
      shape: {
        ns: 'mgmt',
        attrs: [
          f('hostId', 'int'), f('time', 'string'), f('pid', 'int', true), f('processStartTime', 'string', true),
          f('kind', 'string'), f('decision', 'string'), f('poll', 'boolean'), f('polls', 'int'), f('connections', 'int'), f('connectionsSsl', 'int'),
        ],
        children: [
          { json: 'counters', xml: 'counters', many: false, optional: true, shape: transferShape },
          { json: 'delta', xml: 'delta', many: false, shape: transferShape },
          { json: 'billed', xml: 'billed', many: false, shape: transferShape },
        ],
      },
    },
    {
      json: 'events', xml: 'event', xmlWrapper: 'events', many: true,
      shape: { ns: 'mgmt', attrs: [f('id', 'string'), f('type', 'string'), f('time', 'string')], children: [] },
    },
    {
      json: 'anomalies', xml: 'anomaly', xmlWrapper: 'anomalies', many: true,
      shape: {
        ns: 'mgmt',
        attrs: [f('id', 'int'), f('kind', 'string'), f('status', 'string'), f('time', 'string'), f('hostId', 'int', true), f('eventId', 'string', true), f('detail', 'string')],
        children: [],
      },
    },
  ],
};

const reconciliationLine: Shape = {
  ns: 'mgmt',
  attrs: [f('accountId', 'int'), f('loadBalancerId', 'int')],
  children: (['taken', 'withheld', 'records', 'difference'] as const).map((name) => ({ json: name, xml: name, many: false, shape: transferShape })),
};

export const reconciliation: Shape = {
  ns: 'mgmt',
  attrs: [f('startTime', 'string'), f('endTime', 'string'), f('loadBalancers', 'int'), f('balanced', 'boolean')],
  children: [
    ...(['taken', 'withheld', 'records'] as const).map((name) => ({ json: name, xml: name, many: false, shape: transferShape })),
    { json: 'differences', xml: 'difference', xmlWrapper: 'differences', many: true, shape: reconciliationLine },
  ],
};

/** A response type: its root element name and shape. */
export interface ResponseType {
  root: string;
  shape: Shape;
}

export const RESPONSES = {
  accountsInCluster: { root: 'accountsInCluster', shape: accountsInCluster },
  accountLoadBalancers: { root: 'accountLoadBalancers', shape: accountLoadBalancers },
  extendedAccountLoadbalancers: { root: 'extendedAccountLoadbalancers', shape: extendedAccountLoadbalancers },
  accountBillings: { root: 'accountBillings', shape: accountBillings },
  accountUsageRecords: { root: 'accountUsageRecords', shape: accountUsageRecords },
  loadBalancerUsageRecords: { root: 'loadBalancerUsageRecords', shape: loadBalancerUsageRecords },
  accountBilling: { root: 'accountBilling', shape: accountBilling },
  loadBalancerUsage: { root: 'loadBalancerUsage', shape: loadBalancerUsage },
  loadBalancers: { root: 'loadBalancers', shape: loadBalancers },
  recordSources: { root: 'recordSources', shape: recordSources },
  reconciliation: { root: 'reconciliation', shape: reconciliation },
} satisfies Record<string, ResponseType>;
