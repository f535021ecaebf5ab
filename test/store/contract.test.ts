// The store contract: what the rest of lbmeter relies on from either engine. The same tests run
// on better-sqlite3 and on PostgreSQL, on a fresh store each.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/store.ts';
import { migrate } from '../../src/store/migrations/index.ts';
import { acquireLease, holdsLease, liveHolders, releaseLease, takeLease } from '../../src/store/leases.ts';
import { claimSampleKey, hostBaselines, newestReadingPerHost, saveHostBaselines } from '../../src/store/counters.ts';
import { HostBaselines } from '../../src/store/hostBaselines.ts';
import { insertNewEvents } from '../../src/store/events.ts';
import { AT, newRollStamp, RECORD_ROW, replaceHourRecords, usageRecordRowPage, usageRecordsIn } from '../../src/store/usageRecords.ts';
import { insertReadings, readingsOf, type NewReading } from '../../src/store/readings.ts';
import { putSnapshots } from '../../src/store/accountUsage.ts';
import { purgeExpired } from '../../src/jobs/retention.ts';
import { holdAnomalies, listAnomalies, type NewAnomaly } from '../../src/store/anomalies.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';
import { DAY_MS, HOUR_MS } from '../../src/domain/time.ts';
import { streamRows } from '../../src/store/dialect/index.ts';

const U64_MAX = 2n ** 64n - 1n;
const H = Date.parse('2026-11-20T10:00:00Z');

function draft(lbId: number, startMs: number, over: Partial<UsageRecordDraft> = {}): UsageRecordDraft {
  return {
    accountId: 7, loadBalancerId: lbId, hourMs: Math.floor(startMs / HOUR_MS) * HOUR_MS, startMs, endMs: startMs + HOUR_MS, closing: false,
    bytesIn: 1n, bytesOut: 2n, bytesInSsl: 0n, bytesOutSsl: 0n, averageNumConnections: 0, averageNumConnectionsSsl: 0,
    numVips: 1, numPolls: 0, vipType: 'PUBLIC', sslMode: 'OFF', ...over,
  };
}

for (const { fixture, skip } of await engines()) {
  describe(`store contract [${fixture.name}]`, { skip }, () => {
    let location: string;
    let store: Store;
    before(async () => {
      location = await fixture.create();
      store = await openStore(location);
    });
    after(async () => {
      await store?.close();
      await fixture.cleanup();
    });

    test('migrations run once: opening again finds the schema current', async () => {
      const again = await openStore(location);
      try {
        const rows = await again.db.selectFrom('kysely_migration' as any).select('name' as any).execute();
        assert.deepEqual(rows.map((r: any) => r.name), ['001_initial', '002_leases', '003_anomaly_amounts', '004_export_state', '005_day_partitions', '006_baseline_fillfactor', '007_reading_facts', '008_store_revision', '009_lease_tokens', '010_reading_hours', '011_packed_baselines', '012_baseline_compression', '013_record_ids', '014_rule_versions', '015_export_revisions', '016_store_migrators', '017_fact_changes', '018_reading_read_stamps']);
      } finally {
        await again.close();
      }
    });

    test('migration 011 packs the baselines of a store from before it, host by host, exactly', async () => {
      const old = await openStore(await fixture.create(), { migrate: '010_reading_hours' });
      try {
        const row = (host: number, lb: number, timeMs: number, bytesIn: bigint) => ({
          host_id: host, load_balancer_id: lb, process_key: `${host}@1`, time_ms: timeMs,
          bytes_in: String(bytesIn), bytes_out: '2', bytes_in_ssl: '3', bytes_out_ssl: String(U64_MAX),
        });
        await old.db.insertInto('counter_state' as any).values([row(1, 70, H, U64_MAX), row(1, 71, H + 1, 5n), row(2, 70, H - 1, 0n)]).execute();
        await migrate(old.db);
        const one = await hostBaselines(old.db, 1);
        assert.deepEqual(one.get(70), { processKey: '1@1', timeMs: H, bytesIn: U64_MAX, bytesOut: 2n, bytesInSsl: 3n, bytesOutSsl: U64_MAX });
        assert.deepEqual([...one.keys(), ...(await hostBaselines(old.db, 2)).keys()], [70, 71, 70]);
        assert.deepEqual([...await newestReadingPerHost(old.db)].sort(), [[1, H + 1], [2, H - 1]]);
      } finally {
        await old.close();
      }
    });

    test('a lease: free is taken, live is refused, ours is renewed, expired is taken over', async () => {
      const now = Date.now();
      const a = await takeLease(store.db, 'job', 'a', 1000, now);
      assert.notEqual(a, undefined);
      assert.equal(await acquireLease(store.db, 'job', 'b', 1000, now + 10), false);
      assert.equal(await acquireLease(store.db, 'job', 'a', 1000, now + 500), true, 'the holder renews');
      assert.equal(await acquireLease(store.db, 'job', 'b', 1000, now + 1400), false, 'renewed until now + 1500');
      const b = await takeLease(store.db, 'job', 'b', 1000, now + 1500);
      assert.notEqual(b, undefined, 'expired: taken over');
      assert.equal(await holdsLease(store.db, 'job', 'a', a!, 1000, now + 1600), false, 'the old holder cannot extend');
      assert.equal(await holdsLease(store.db, 'job', 'b', b!, 1000, now + 1600), true);
      await releaseLease(store.db, 'job', 'a'); // not a's: nothing happens
      assert.equal(await acquireLease(store.db, 'job', 'c', 1000, now + 1700), false);
      await releaseLease(store.db, 'job', 'b');
      assert.equal(await acquireLease(store.db, 'job', 'c', 1000, now + 1700), true);
    });

    test('a lease raced for by many connections at once has exactly one holder', async () => {
      const others = await Promise.all([1, 2, 3, 4].map(() => openStore(location, { migrate: false })));
      try {
        for (let round = 0; round < 5; round++) {
          const name = `race-${round}`;
          const won = await Promise.all([store, ...others].flatMap((s, i) => [0, 1].map((j) => acquireLease(s.db, name, `p${i}-${j}`, 60_000))));
          assert.equal(won.filter(Boolean).length, 1, `round ${round}: ${won}`);
        }
      } finally {
        for (const s of others) await s.close();
      }
    });

    test('the lease fence: a holder that lost its lease cannot commit work behind it', async () => {
      const now = Date.now();
      const slow = await takeLease(store.db, 'fenced', 'slow', 50, now - 100); // already expired
      assert.notEqual(slow, undefined);
      assert.equal(await acquireLease(store.db, 'fenced', 'fast', 60_000), true);
      await assert.rejects(store.transaction(async (trx) => {
        await putSnapshots(trx, [{ accountId: 99, timeMs: H, source: 'DAILY', counts: { numLoadBalancers: 1, numPublicVips: 1, numServicenetVips: 0 } }]);
        if (!(await holdsLease(trx, 'fenced', 'slow', slow!, 60_000))) throw new Error('lease lost');
      }), /lease lost/);
      const rows = await store.db.selectFrom('account_usage').selectAll().where('account_id', '=', 99).execute();
      assert.equal(rows.length, 0, 'the work rolled back with the transaction');
    });

    test('a lease token: kept while its holder renews, new when it changes hands, the fence checks it', async () => {
      const now = Date.now();
      const first = await takeLease(store.db, 'token', 'a', 1000, now);
      assert.equal(first, now);
      assert.equal(await takeLease(store.db, 'token', 'a', 1000, now + 500), first, 'renewed: the same token');
      assert.equal(await holdsLease(store.db, 'token', 'a', first!, 1000, now + 2000), true, 'expired but not taken: still fenced in');
      assert.equal(await takeLease(store.db, 'token', 'b', 1000, now + 3000 + 1), now + 3001, 'expired: taken over with a new token');
      assert.equal(await holdsLease(store.db, 'token', 'a', first!, 1000, now + 3100), false, 'the old holder is fenced out');
      await releaseLease(store.db, 'token', 'b');
      const again = await takeLease(store.db, 'token', 'a', 1000, now + 3200);
      assert.equal(again, now + 3200, 'taken again after another holder: a new token');
      assert.equal(await holdsLease(store.db, 'token', 'a', first!, 1000, now + 3300), false, 'work from before the lease changed hands is refused');
      assert.equal(await holdsLease(store.db, 'token', 'a', again!, 1000, now + 3300), true);
    });

    test('live holders of a group are those whose leases have not expired', async () => {
      const now = Date.now();
      await acquireLease(store.db, 'member:x', 'x', 60_000, now);
      await acquireLease(store.db, 'member:y', 'y', 60_000, now);
      await acquireLease(store.db, 'member:z', 'z', 10, now - 1000);
      await acquireLease(store.db, 'other:w', 'w', 60_000, now);
      assert.deepEqual(await liveHolders(store.db, 'member:'), ['x', 'y']);
    });

    test('counter baselines keep unsigned 64-bit values, process keys and times exactly, host by host', async () => {
      await saveHostBaselines(store.db, 1, new HostBaselines([
        [70, { processKey: 'p', timeMs: H, bytesIn: U64_MAX, bytesOut: U64_MAX - 1n, bytesInSsl: 2n ** 63n, bytesOutSsl: 0n }],
        [2 ** 53 - 1, { processKey: '12@1700000000000', timeMs: H - 5, bytesIn: 1n, bytesOut: 2n, bytesInSsl: 3n, bytesOutSsl: 4n }],
      ]));
      await saveHostBaselines(store.db, 2, new HostBaselines([[70, { processKey: 'q', timeMs: H + 9, bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n }]]));
      const b = (await hostBaselines(store.db, 1)).get(70)!;
      assert.deepEqual([b.bytesIn, b.bytesOut, b.bytesInSsl, b.bytesOutSsl, b.timeMs, b.processKey], [U64_MAX, U64_MAX - 1n, 2n ** 63n, 0n, H, 'p']);
      assert.deepEqual((await hostBaselines(store.db, 1)).get(2 ** 53 - 1), { processKey: '12@1700000000000', timeMs: H - 5, bytesIn: 1n, bytesOut: 2n, bytesInSsl: 3n, bytesOutSsl: 4n });
      assert.deepEqual([...await hostBaselines(store.db, 3)], []);
      assert.equal((await newestReadingPerHost(store.db)).get(2), H + 9);
    });

    test('cached baselines are lent to one transaction: a rollback after saving, or reading without saving, leaves the stored ones', async () => {
      const link = (n: bigint) => ({ processKey: '1@1', timeMs: H + Number(n), bytesIn: n, bytesOut: n, bytesInSsl: n, bytesOutSsl: n });
      await saveHostBaselines(store.db, 5, new HostBaselines([[1, link(10n)]]));
      // Changed and never saved (the cache was current): the next reader does not see the change.
      (await hostBaselines(store.db, 5)).set(1, link(30n));
      assert.deepEqual([...await hostBaselines(store.db, 5)], [[1, link(10n)]]);
      // Changed, saved, then rolled back: the cache holds what was never committed.
      await saveHostBaselines(store.db, 5, await hostBaselines(store.db, 5));
      await assert.rejects(store.transaction(async (trx) => {
        await saveHostBaselines(trx, 5, (await hostBaselines(trx, 5)).set(1, link(20n)).set(2, link(21n)));
        throw new Error('rolled back');
      }), /rolled back/);
      assert.deepEqual([...await hostBaselines(store.db, 5)], [[1, link(10n)]]);
      // Another process saves: this one reads the new version, not its cached one.
      await saveHostBaselines(store.db, 5, await hostBaselines(store.db, 5));
      const other = await openStore(location, { migrate: false });
      try {
        await saveHostBaselines(other.db, 5, new HostBaselines([[1, link(40n)]]));
      } finally {
        await other.close();
      }
      assert.deepEqual([...await hostBaselines(store.db, 5)], [[1, link(40n)]]);
    });

    test('a report\'s rows streamed are what a plain select answers, whatever their text and numbers', async () => {
      await sql`create table stream_probe (id integer primary key, name text, big bigint, small integer, ratio double precision)`.execute(store.db);
      try {
        const names = ['plain', 'tab\tnew\nline\rend', 'back\\slash \\N \\t', '\b\f\v', '', 'ünïcødé ✓ 中文 😀', '\\', 'trailing\\', null];
        const bigs = [0, -1, 999_999_999_999_999, -99_999_999_999_999, 2 ** 53 - 1, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n, 1_000_000_000_000_000n, null];
        const ratios = [0, -0.5, 1.5, 1e300, 5e-324, 1 / 3, 12345.678, -2.5e-10, null];
        const rows = Array.from({ length: 2_500 }, (_, i) => ({
          id: i, name: names[i % names.length]!, big: bigs[i % bigs.length]!, small: i % 7 === 0 ? null : i - 1000, ratio: ratios[i % ratios.length]!,
        }));
        for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('stream_probe' as any).values(rows.slice(i, i + 500) as any).execute();
        const query = store.db.selectFrom('stream_probe' as any).selectAll().where('id', '>=', 3).orderBy('id');
        const plain = await query.execute();
        const streamed: unknown[] = [];
        for await (const batch of streamRows(store.connection, query, 97)) streamed.push(...batch);
        assert.equal(streamed.length, rows.length - 3);
        assert.deepEqual(streamed, plain);
        // Parameters of every kind a query passes, hostile text among them (PostgreSQL writes them into its COPY).
        const hostile = store.db.selectFrom('stream_probe' as any).selectAll()
          .where('name', 'in', ["it's", names[2]!, "x'); drop table stream_probe; --", 'ünïcødé ✓ 中文 😀']).where('small', '>', -1000).where('big', '<', 2n ** 62n).orderBy('id');
        const fromParameters: unknown[] = [];
        for await (const batch of streamRows(store.connection, hostile, 1000)) fromParameters.push(...batch);
        assert.ok(fromParameters.length > 100);
        assert.deepEqual(fromParameters, await hostile.execute());
      } finally {
        await sql`drop table stream_probe`.execute(store.db);
      }
    });

    test('a whole host of held readings is stored at once, text and amounts exactly', async () => {
      // More than one statement's worth of parameters (PostgreSQL: 65535), as when a host's
      // clock went back and every reading of it is stale.
      const details = ['plain', 'a "quoted", {braced} \\ back\\slashed, comma', 'NULL', '', 'ünïcødé ✓', "it's; drop table anomalies; --", 'tab\tnew\nline\r\\N end'];
      const items: NewAnomaly[] = Array.from({ length: 12_000 }, (_, i) => ({
        kind: i % 2 ? 'STALE_SAMPLE' : 'DELTA_ABOVE_CEILING', timeMs: H + i, loadBalancerId: i + 1, hostId: i % 3 ? 9 : undefined,
        detail: details[i % details.length]!,
        held: i % 2 ? undefined : { bytesIn: U64_MAX + BigInt(i), bytesOut: BigInt(i), bytesInSsl: 0n, bytesOutSsl: 2n ** 63n },
      }));
      await holdAnomalies(store.db, items, H);
      const stored = (await listAnomalies(store.db, 'HELD')).filter((a) => a.timeMs >= H && a.timeMs < H + items.length);
      assert.equal(stored.length, items.length);
      stored.forEach((a, i) => {
        const { held, ...rest } = items[i]!;
        assert.deepEqual(a, { id: a.id, ...rest, status: 'HELD', createdMs: H, ...(held ? { held } : {}) });
      });
    });

    test('a sample key and an event id are claimed once, even by concurrent writers', async () => {
      const claims = await Promise.all([1, 2, 3].map(() => claimSampleKey(store.db, 5, 'pid/1', H)));
      assert.equal(claims.filter(Boolean).length, 1);
      const event = { id: 'e-\'"<x>', type: 'CREATE_LOADBALANCER' as const, timeMs: H, accountId: 7, loadBalancerId: 70, loadBalancer: { name: 'w', protocol: 'HTTP', clusterId: 1 } };
      assert.equal((await insertNewEvents(store.db, [event as any])).length, 1);
      assert.equal((await insertNewEvents(store.db, [event as any])).length, 0);
    });

    test('usage records: replacing an hour is idempotent, a final hour never changes', async () => {
      await replaceHourRecords(store.db, H, [draft(70, H)], { final: false, stamp: newRollStamp(), loadBalancerIds: [70] });
      const first = await usageRecordsIn(store.db, { startMs: H, endMs: H + HOUR_MS, match: 'starts', loadBalancerId: 70 });
      await replaceHourRecords(store.db, H, [draft(70, H, { bytesIn: 5n })], { final: true, stamp: newRollStamp(), loadBalancerIds: [70] });
      const second = await usageRecordsIn(store.db, { startMs: H, endMs: H + HOUR_MS, match: 'starts', loadBalancerId: 70 });
      assert.equal(second.length, 1);
      assert.equal(second[0]!.id, first[0]!.id, 'the same record, updated in place');
      assert.equal(second[0]!.bytesIn, 5n);
      await replaceHourRecords(store.db, H, [draft(70, H, { bytesIn: 9n })], { final: true, stamp: newRollStamp(), loadBalancerIds: [70] });
      await replaceHourRecords(store.db, H, [], { final: true, stamp: newRollStamp(), loadBalancerIds: [70] });
      const third = await usageRecordsIn(store.db, { startMs: H, endMs: H + HOUR_MS, match: 'starts', loadBalancerId: 70 });
      assert.deepEqual(third.map((r) => r.bytesIn), [5n], 'final: neither changed nor removed');
    });

    test('a page of rows is read apart from a transaction in flight: what was committed, never half of one', async () => {
      const hour = H + 5 * HOUR_MS;
      await replaceHourRecords(store.db, hour, [draft(71, hour)], { final: false, stamp: newRollStamp(), loadBalancerIds: [71] });
      const w = { startMs: hour, endMs: hour + HOUR_MS, match: 'starts' as const, loadBalancerId: 71 };
      let duringTransaction: number | undefined;
      await store.transaction(async (trx) => {
        await trx.deleteFrom('usage_records').where('load_balancer_id', '=', 71).execute();
        duringTransaction = (await usageRecordRowPage(store, w, 0, 10)).rows.length;
      });
      assert.equal(duringTransaction, 1, 'a delete not yet committed is not seen');
      assert.equal((await usageRecordRowPage(store, w, 0, 10)).rows.length, 0, 'and is seen once committed');
    });

    test('a page of rows holds what the driver reads, value for value, at the edges of every column type', async () => {
      const hour = H + 6 * HOUR_MS;
      const edges: Partial<UsageRecordDraft>[] = [
        { bytesIn: 2n ** 63n - 1n, bytesOut: 0n, bytesInSsl: 10n ** 15n - 1n, bytesOutSsl: 10n ** 15n, averageNumConnections: 0.1, averageNumConnectionsSsl: 1 / 3 },
        { bytesIn: 2n ** 53n + 1n, bytesOut: 1n, averageNumConnections: 1e-7, averageNumConnectionsSsl: 123456.789, numVips: 2 ** 31 - 1, numPolls: 0, eventType: 'DELETE_LOADBALANCER' },
        { averageNumConnections: 1e21, averageNumConnectionsSsl: 5e-324, vipType: 'SERVICENET', sslMode: 'MIXED', eventType: 'SSL_OFF' },
      ];
      const drafts = edges.map((over, i) => draft(72 + i, hour, over));
      await replaceHourRecords(store.db, hour, drafts, { final: false, stamp: newRollStamp(), loadBalancerIds: drafts.map((d) => d.loadBalancerId) });
      const { rows } = await usageRecordRowPage(store, { startMs: hour, endMs: hour + HOUR_MS, match: 'starts' }, 0, 10);
      const viaDriver = await store.db.selectFrom('usage_records').select(RECORD_ROW).where('hour_ms', '=', hour).orderBy('load_balancer_id').execute();
      assert.equal(rows.length, 3);
      assert.deepEqual(rows, viaDriver.map((r) => RECORD_ROW.map((column) => (r as Record<string, unknown>)[column])));
      assert.equal(BigInt(rows[0]![AT.bytes_in] as bigint), 2n ** 63n - 1n, 'the largest count a record holds, exactly');
    });

    test('retention takes whole old days at once (PostgreSQL drops their partitions), never a day with an unexported record', async () => {
      const day = (n: number) => Date.parse('2025-06-01T00:00:00Z') + n * DAY_MS;
      await replaceHourRecords(store.db, day(0) + HOUR_MS, [draft(90, day(0) + HOUR_MS)], { final: true, stamp: newRollStamp(), loadBalancerIds: [90] });
      await replaceHourRecords(store.db, day(1) + HOUR_MS, [draft(90, day(1) + HOUR_MS)], { final: true, stamp: newRollStamp(), loadBalancerIds: [90] });
      await replaceHourRecords(store.db, day(2) + HOUR_MS, [draft(91, day(2) + HOUR_MS)], { final: true, stamp: newRollStamp(), loadBalancerIds: [91] });
      await store.db.updateTable('usage_records').set({ exported_ms: day(3) }).where('load_balancer_id', '=', 90).execute();
      const partitions = async () => (await sql<{ name: string }>`select relname as name from pg_class where relkind = 'r' and relname like 'usage_records_2025060%' order by relname`.execute(store.db)).rows.map((r) => r.name);
      if (fixture.name === 'postgres') assert.deepEqual(await partitions(), ['usage_records_20250601', 'usage_records_20250602', 'usage_records_20250603']);
      const r = await purgeExpired(store, day(3));
      assert.equal(r.records, 2);
      const left = await store.db.selectFrom('usage_records').select('load_balancer_id').where('start_ms', '<', day(3)).where('start_ms', '>=', day(0)).execute();
      assert.deepEqual(left.map((x) => Number(x.load_balancer_id)), [91]);
      if (fixture.name === 'postgres') assert.deepEqual(await partitions(), ['usage_records_20250603'], 'the days with only exported records are gone');
      // Leave no unexported old record behind: it would hold back the next test's samples.
      await store.db.deleteFrom('usage_records').where('load_balancer_id', '=', 91).execute();
    });

    test('retention purges old exported usage, never an unexported record or the samples behind it', async () => {
      const old = H - 100 * DAY_MS;
      await replaceHourRecords(store.db, old, [draft(80, old), draft(81, old)], { final: true, stamp: newRollStamp(), loadBalancerIds: [80, 81] });
      await replaceHourRecords(store.db, old + HOUR_MS, [draft(82, old + HOUR_MS)], { final: true, stamp: newRollStamp(), loadBalancerIds: [82] });
      await store.db.updateTable('usage_records').set({ exported_ms: H }).where('load_balancer_id', 'in', [80, 82]).execute();
      const reading = (lb: number, t: number): NewReading => ({
        loadBalancerId: lb, accountId: 7, hostId: 1, timeMs: t, bytesIn: 1n, bytesOut: 1n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0,
        kind: 'NORMAL', hold: 'NONE', pid: 1, processStartMs: 0, counters: { bytesIn: 2n ** 64n - 1n, bytesOut: 1n, bytesInSsl: 0n, bytesOutSsl: 0n },
      });
      for (const r of [reading(80, old - HOUR_MS), reading(81, old + 60_000), reading(82, old + HOUR_MS + 60_000)]) await insertReadings(store.db, [r]);
      assert.equal((await readingsOf(store.db, [81], undefined, old + HOUR_MS)).get(81)![0]!.counters!.bytesIn, 2n ** 64n - 1n, 'raw counters keep all 64 bits');
      await putSnapshots(store.db, [{ accountId: 7, timeMs: old, source: 'DAILY', counts: { numLoadBalancers: 3, numPublicVips: 3, numServicenetVips: 0 } }]);

      const r = await purgeExpired(store, H - 90 * DAY_MS);
      assert.deepEqual([r.records, r.snapshots, r.samples], [2, 1, 1]);
      const left = await store.db.selectFrom('usage_records').select('load_balancer_id').where('start_ms', '<', H - 90 * DAY_MS).execute();
      assert.deepEqual(left.map((x) => Number(x.load_balancer_id)), [81], 'the unexported record stays');
      const samples = await store.db.selectFrom('usage_samples').select('load_balancer_id').where('time_ms', '<', H - 90 * DAY_MS).orderBy('time_ms').execute();
      assert.deepEqual(samples.map((x) => Number(x.load_balancer_id)), [81, 82], 'samples from the unexported record\'s hour on stay');

      // With no billing sink (billing pulls through the API), nothing waits for an export.
      const unsunk = await purgeExpired(store, H - 90 * DAY_MS, { exportSink: false });
      assert.deepEqual([unsunk.records, unsunk.samples], [1, 2]);
      assert.deepEqual(await store.db.selectFrom('usage_records').select('id').where('start_ms', '<', H - 90 * DAY_MS).execute(), []);
      assert.deepEqual(await store.db.selectFrom('usage_samples').select('id').where('time_ms', '<', H - 90 * DAY_MS).execute(), []);
    });
  });
}
