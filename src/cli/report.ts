// `lbmeter report usage`: one account's usage per load balancer over a window, as a table for
// a terminal, or CSV and JSON for scripts. Bytes stay exact in every format.

import type { Store } from '../store/store.ts';
import { usageRecordsIn } from '../store/usageRecords.ts';
import { loadBalancerViews } from '../store/loadBalancers.ts';
import { exactJson } from '../domain/exactJson.ts';

export type ReportFormat = 'table' | 'csv' | 'json';

export interface UsageReportRow {
  loadBalancerId: number;
  name: string;
  records: number;
  incomingTransfer: bigint;
  outgoingTransfer: bigint;
  incomingTransferSsl: bigint;
  outgoingTransferSsl: bigint;
}

/** Records starting in [startMs, endMs], summed per load balancer, by load balancer id. */
export async function usageReport(store: Store, accountId: number, startMs: number, endMs: number): Promise<UsageReportRow[]> {
  const records = await usageRecordsIn(store.db, { startMs, endMs, match: 'starts', accountId });
  const names = new Map((await loadBalancerViews(store.db, { accountId })).map((v) => [v.id, v.name]));
  const rows = new Map<number, UsageReportRow>();
  for (const r of records) {
    const row = rows.get(r.loadBalancerId) ?? {
      loadBalancerId: r.loadBalancerId, name: names.get(r.loadBalancerId) ?? '', records: 0,
      incomingTransfer: 0n, outgoingTransfer: 0n, incomingTransferSsl: 0n, outgoingTransferSsl: 0n,
    };
    row.records++;
    row.incomingTransfer += r.bytesIn;
    row.outgoingTransfer += r.bytesOut;
    row.incomingTransferSsl += r.bytesInSsl;
    row.outgoingTransferSsl += r.bytesOutSsl;
    rows.set(r.loadBalancerId, row);
  }
  return [...rows.values()].sort((a, b) => a.loadBalancerId - b.loadBalancerId);
}

const COLUMNS: [header: string, value: (r: UsageReportRow) => string | number | bigint][] = [
  ['loadBalancerId', (r) => r.loadBalancerId], ['name', (r) => r.name], ['records', (r) => r.records],
  ['incomingTransfer', (r) => r.incomingTransfer], ['outgoingTransfer', (r) => r.outgoingTransfer],
  ['incomingTransferSsl', (r) => r.incomingTransferSsl], ['outgoingTransferSsl', (r) => r.outgoingTransferSsl],
];

const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function formatReport(rows: UsageReportRow[], format: ReportFormat, meta: { accountId: number; from: string; to: string }): string {
  if (format === 'json') return exactJson({ ...meta, loadBalancers: rows }, 2) + '\n';
  const cells = rows.map((r) => COLUMNS.map(([, value]) => String(value(r))));
  if (format === 'csv') return [COLUMNS.map(([h]) => h), ...cells].map((line) => line.map(csvField).join(',')).join('\n') + '\n';
  const headers = ['load balancer', 'name', 'records', 'bytes in', 'bytes out', 'SSL bytes in', 'SSL bytes out'];
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  const title = `usage of account ${meta.accountId}, records starting ${meta.from} to ${meta.to}`;
  return [title, '', line(headers), ...cells.map(line), ...(rows.length === 0 ? ['(no usage records)'] : [])].join('\n') + '\n';
}
