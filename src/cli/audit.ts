// `lbmeter audit`: a record's sources and a window's reconciliation as text for an operator to
// read to a customer or an auditor. Bytes are exact; times are UTC.

import type { RecordSources } from '../query/recordSources.ts';
import type { Reconciliation } from '../query/reconciliation.ts';
import { describeTransfers } from '../domain/types.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export function formatRecordSources(s: RecordSources): string {
  const r = s.record;
  const state = [r.final ? 'final' : 'provisional', r.voided ? 'voided' : '', r.exported ? 'exported' : '', r.revision ? `revision ${r.revision}` : '', `billing rule ${r.ruleVersion}`].filter(Boolean).join(', ');
  const lines = [
    `usage record ${r.id}: account ${r.accountId}, load balancer ${r.loadBalancerId}, ${iso(r.startMs)} to ${iso(r.endMs)} (${state})`,
    `  record   ${describeTransfers(r)}`,
    `  readings ${describeTransfers(s.billed)}  ${s.matches ? 'match' : 'DIFFER'}`,
    '',
    'readings (host, time, process, counters, delta, decision, billed):',
  ];
  if (s.readings.length === 0) lines.push('  none');
  for (const { reading: x, decision, billed } of s.readings) {
    const proc = x.pid === undefined ? '-' : `${x.pid}@${iso(x.processStartMs!)}`;
    const counters = x.counters ? describeTransfers(x.counters) : 'not kept';
    // An hourly row (readings compacted after their window) stands for several readings.
    const what = decision === 'HOURLY' ? `HOURLY (${x.polls ?? 1} readings to ${iso(x.timeMs)})` : decision;
    lines.push(`  host ${x.hostId}  ${iso(x.timeMs)}  ${proc}  counters ${counters}  delta ${describeTransfers(x)}  ${what}  billed ${describeTransfers(billed)}`);
  }
  lines.push('', 'events:');
  if (s.events.length === 0) lines.push('  none');
  for (const e of s.events) lines.push(`  ${iso(e.timeMs)}  ${e.type}  ${e.id}`);
  lines.push('', 'anomalies:');
  if (s.anomalies.length === 0) lines.push('  none');
  for (const a of s.anomalies) lines.push(`  ${a.id}  ${a.status}  ${a.kind}  ${iso(a.timeMs)}  ${a.detail}`);
  return lines.join('\n') + '\n';
}

export function formatReconciliation(r: Reconciliation): string {
  const lines = [
    `final hours ${iso(r.fromMs)} to ${iso(r.toMs)}: ${r.loadBalancers} load balancers`,
    `  deltas taken       ${describeTransfers(r.taken)}`,
    `  held or discarded  ${describeTransfers(r.withheld)}`,
    `  in records         ${describeTransfers(r.records)}`,
  ];
  if (r.differences.length === 0) lines.push('balanced: every byte taken is in a record, held or discarded');
  else {
    lines.push(`${r.differences.length} load balancer(s) differ (taken - held - records):`);
    for (const d of r.differences) lines.push(`  account ${d.accountId} load balancer ${d.loadBalancerId}: ${describeTransfers(d.difference)}`);
  }
  return lines.join('\n') + '\n';
}
