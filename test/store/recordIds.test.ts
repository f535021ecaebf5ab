// Record ids (SPEC 3, domain/recordIds.ts): one id a record, never consumed by an update, below
// 2^31 - 1, unique within the load balancer; a store migrated from the sequence keeps every id it
// served and hands out new ones above them.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { openStore } from '../../src/store/store.ts';
import { newRollStamp, replaceHourRecords } from '../../src/store/usageRecords.ts';
import { allocateRecordId, firstRecordIdOf, MAX_RECORD_ID, preferredSlot, recordIdPeriodHours, recordIdWrapYear, RecordIdsExhausted, RECORD_SLOTS_PER_HOUR } from '../../src/domain/recordIds.ts';
import { HOUR_MS } from '../../src/domain/time.ts';
import { ensureDayPartitions } from '../../src/store/partitions.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';

const H = Date.UTC(2026, 11, 4, 10);

const draft = (lbId: number, startMs: number, endMs: number, closing = false): UsageRecordDraft => ({
  accountId: 1, loadBalancerId: lbId, hourMs: H, startMs, endMs, closing, bytesIn: 1n, bytesOut: 2n, bytesInSsl: 0n, bytesOutSsl: 0n,
  averageNumConnections: 0, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 1, vipType: 'PUBLIC', sslMode: 'OFF',
});

test('the scheme: ids of an hour form one range of 240, preferred by the start\'s half-minute, below 2^31 - 1 until the year 2990', () => {
  const first = firstRecordIdOf(0, H);
  assert.equal(first, 1 + (H / HOUR_MS) * RECORD_SLOTS_PER_HOUR);
  assert.equal(firstRecordIdOf(0, H + HOUR_MS), first + RECORD_SLOTS_PER_HOUR);
  assert.deepEqual([preferredSlot({ hourMs: H, startMs: H, closing: false }), preferredSlot({ hourMs: H, startMs: H + 45_000, closing: true }), preferredSlot({ hourMs: H, startMs: H + HOUR_MS, closing: true })], [0, 3, 239]);
  assert.equal(recordIdWrapYear(0), 2990);
  const lastHour = (recordIdPeriodHours(0) - 1) * HOUR_MS;
  assert.ok(firstRecordIdOf(0, lastHour) + RECORD_SLOTS_PER_HOUR - 1 <= MAX_RECORD_ID);
  // A store migrated near the top still wraps after its retention, never past 2^31 - 1.
  const base = MAX_RECORD_ID - 1_000_000;
  assert.ok(recordIdPeriodHours(base) * HOUR_MS > 90 * 86_400_000);
  assert.ok(firstRecordIdOf(base, H) > base && firstRecordIdOf(base, H) + RECORD_SLOTS_PER_HOUR - 1 <= MAX_RECORD_ID);
  const taken = new Set<number>();
  for (let i = 0; i < RECORD_SLOTS_PER_HOUR; i++) allocateRecordId(0, { loadBalancerId: 1, hourMs: H, startMs: H, closing: false }, taken);
  assert.equal(taken.size, RECORD_SLOTS_PER_HOUR);
  assert.throws(() => allocateRecordId(0, { loadBalancerId: 1, hourMs: H, startMs: H, closing: false }, taken), RecordIdsExhausted);
});

for (const { fixture, skip } of await engines()) {
  describe(`record ids [${fixture.name}]`, { skip }, () => {
    after(() => fixture.cleanup());

    test('re-rolling an hour keeps every id and consumes none; a new record takes a free id of its hour', async () => {
      const store = await openStore(await fixture.create());
      try {
        const roll = async (drafts: UsageRecordDraft[]) => {
          await replaceHourRecords(store.db, H, drafts, { final: false, stamp: newRollStamp() });
          return (await store.db.selectFrom('usage_records').select(['load_balancer_id', 'start_ms', 'id']).orderBy('load_balancer_id').orderBy('start_ms').execute())
            .map((r) => [Number(r.load_balancer_id), Number(r.start_ms) - H, Number(r.id)]);
        };
        const first = firstRecordIdOf(0, H);
        const hour = [draft(1, H, H + HOUR_MS), draft(2, H, H + HOUR_MS)];
        assert.deepEqual(await roll(hour), [[1, 0, first], [2, 0, first]], 'the same id in two load balancers: named with them');
        for (let i = 0; i < 5; i++) assert.deepEqual(await roll(hour), [[1, 0, first], [2, 0, first]], 'a re-roll consumes no id');
        // A late event splits load balancer 1's hour at 10:00:20: the new record's preferred slot
        // (the first half-minute) is taken, so it takes the next free one.
        assert.deepEqual(await roll([draft(1, H, H + 20_000), draft(1, H + 20_000, H + HOUR_MS), draft(2, H, H + HOUR_MS)]),
          [[1, 0, first], [1, 20_000, first + 1], [2, 0, first]]);
      } finally {
        await store.close();
      }
    });

    test('a store migrated from the sequence keeps every id it served; new ones come above them', async () => {
      const store = await openStore(await fixture.create(), { migrate: '012_baseline_compression' });
      try {
        await ensureDayPartitions(store.db, 'usage_records', H - HOUR_MS, H);
        // The old scheme: ids from the table's sequence, much consumed by re-rolls.
        await store.db.insertInto('usage_records').values([1, 2].map((lb) => ({
          id: 37_800 + lb, account_id: 1, load_balancer_id: lb, hour_ms: H - HOUR_MS, start_ms: H - HOUR_MS, end_ms: H, closing: 0,
          bytes_in: 5, bytes_out: 5, bytes_in_ssl: 0, bytes_out_ssl: 0, avg_connections: 0, avg_connections_ssl: 0,
          num_vips: 1, num_polls: 1, vip_type: 'PUBLIC', ssl_mode: 'OFF', event_type: null, final: 1, exported_ms: H,
        })) as any).execute();
      } finally {
        await store.close();
      }
      const migrated = await openStore((store.connection.location));
      try {
        const ids = async () => (await migrated.db.selectFrom('usage_records').select(['load_balancer_id', 'hour_ms', 'id', 'offered']).orderBy('hour_ms').orderBy('load_balancer_id').execute())
          .map((r) => [Number(r.load_balancer_id), Number(r.hour_ms) - H, Number(r.id), Number(r.offered)]);
        assert.deepEqual(await ids(), [[1, -HOUR_MS, 37_801, 1], [2, -HOUR_MS, 37_802, 1]], 'ids served stay; exported ones count as offered');
        await replaceHourRecords(migrated.db, H, [draft(1, H, H + HOUR_MS)], { final: false, stamp: newRollStamp() });
        const base = 37_802;
        assert.deepEqual((await ids())[2], [1, 0, firstRecordIdOf(base, H), 0]);
        assert.ok(firstRecordIdOf(base, H) > base);
      } finally {
        await migrated.close();
      }
    });
  });
}
