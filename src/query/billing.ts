// The billing reports (SPEC 3.4 and 3.7) as a stream of items in the order they are written:
// each account (ascending) with its snapshots, then each of its load balancers (ascending) with
// its records. Two ordered queries, merged as they are read: the cost is linear in the records
// and the memory is one load balancer's records, whatever the size of the fleet or the day.

import type { Store } from '../store/store.ts';
import { streamRowArrays, streamRows } from '../store/dialect/index.ts';
import { AT, namedRecordsQuery, NAME_AT, type RecordRow } from '../store/usageRecords.ts';
import { num } from '../store/rows.ts';
import { accountUsageQuery, toAccountUsage, type AccountUsageRecord } from '../store/accountUsage.ts';
import { RowCursor } from './rowCursor.ts';

export interface AccountItem {
  kind: 'account';
  accountId: number;
  snapshots: AccountUsageRecord[];
}

export interface LoadBalancerItem {
  kind: 'loadBalancer';
  loadBalancerId: number;
  loadBalancerName: string;
  /** As the store gave them: written by api/format/recordRows.ts. */
  records: RecordRow[];
}

export type BillingItem = AccountItem | LoadBalancerItem;

interface Window {
  startMs: number;
  endMs: number;
}

/** Every account's billing of the window: snapshots with time in it, records lying inside it. */
export async function* billingDay(store: Store, window: Window): AsyncGenerator<BillingItem> {
  const snapshots = new RowCursor(streamRows(store.connection, accountUsageQuery(store.db, window)), toAccountUsage);
  const records = new RowCursor<RecordRow>(streamRowArrays(store.connection, namedRecordsQuery(store.db, { ...window, match: 'inside' })));
  try {
    for (;;) {
      const [hasSnapshot, hasRecord] = [await snapshots.ready(), await records.ready()];
      if (!hasSnapshot && !hasRecord) return;
      const accountId = Math.min(hasSnapshot ? snapshots.row.accountId : Infinity, hasRecord ? accountOf(records.row) : Infinity);
      const item: AccountItem = { kind: 'account', accountId, snapshots: [] };
      while ((snapshots.buffered || (await snapshots.ready())) && snapshots.row.accountId === accountId) {
        item.snapshots.push(snapshots.row);
        snapshots.advance();
      }
      yield item;
      yield* loadBalancerGroups(records, accountId);
    }
  } finally {
    await snapshots.close();
    await records.close();
  }
}

/** One account's load balancers with their records starting in the window (SPEC 3.7). */
export async function* accountLoadBalancerUsages(store: Store, accountId: number, window: Window): AsyncGenerator<LoadBalancerItem> {
  const records = new RowCursor<RecordRow>(streamRowArrays(store.connection, namedRecordsQuery(store.db, { ...window, match: 'starts', accountId })));
  try {
    yield* loadBalancerGroups(records, accountId);
  } finally {
    await records.close();
  }
}

const accountOf = (row: RecordRow) => num(row[AT.account_id] as number);
const loadBalancerOf = (row: RecordRow) => num(row[AT.load_balancer_id] as number);

async function* loadBalancerGroups(records: RowCursor<RecordRow>, accountId: number): AsyncGenerator<LoadBalancerItem> {
  while ((records.buffered || (await records.ready())) && accountOf(records.row) === accountId) {
    const loadBalancerId = loadBalancerOf(records.row);
    const item: LoadBalancerItem = { kind: 'loadBalancer', loadBalancerId, loadBalancerName: (records.row[NAME_AT] as string | null) ?? '', records: [] };
    // A promise only when the store is asked for more rows, not one a record.
    do {
      item.records.push(records.row);
      records.advance();
    } while ((records.buffered || (await records.ready())) && loadBalancerOf(records.row) === loadBalancerId && accountOf(records.row) === accountId);
    yield item;
  }
}
