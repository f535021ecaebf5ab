// Readings of one process are ordered by their counters, never by the clocks that stamped them
// (SPEC 5, Order of readings): two pollers whose clocks disagree, or a cycle stamped before a
// slow store let another reader in, must bill each byte once. And a poller whose clock is more
// than a second from the store's refuses to poll.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { spawnSync } from 'node:child_process';
import { BIN, lbmeterWith } from '../helpers/cli.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { HOUR_MS } from '../../src/domain/time.ts';
import { placeByCounters } from '../../src/domain/delta.ts';
import { neighboursIn } from '../../src/ingest/counterOrder.ts';
import { chainNeighbours, recentChainReadings } from '../../src/store/readings.ts';
import { migrate } from '../../src/store/migrations/index.ts';

const h0 = Date.UTC(2026, 10, 21, 10);
const now = h0 + 3 * HOUR_MS;
const process7 = { pid: 7, startMs: h0 - HOUR_MS };

test('placeByCounters: of two readings of one process, the lower counters keep their stamp and the higher go after; equal ones and other processes keep theirs', () => {
  const newest = { processKey: '7@1', timeMs: 5000, bytesIn: 100n, bytesOut: 10n, bytesInSsl: 0n, bytesOutSsl: 0n };
  const more = { bytesIn: 150n, bytesOut: 10n, bytesInSsl: 0n, bytesOutSsl: 0n };
  const less = { bytesIn: 90n, bytesOut: 9n, bytesInSsl: 0n, bytesOutSsl: 0n };
  const mixed = { bytesIn: 150n, bytesOut: 9n, bytesInSsl: 0n, bytesOutSsl: 0n };
  assert.deepEqual(placeByCounters(newest, more, '7@1', 3500), { timeMs: 5001, older: false }, 'stamped before, counted after: after');
  assert.deepEqual(placeByCounters(newest, more, '7@1', 9000), { timeMs: 9000, older: false });
  assert.deepEqual(placeByCounters(newest, less, '7@1', 6500), { timeMs: 6500, older: true }, 'stamped after, a counter below: under the newest, which moves after it');
  assert.deepEqual(placeByCounters(newest, less, '7@1', 2000), { timeMs: 2000, older: true });
  assert.deepEqual(placeByCounters(newest, less, '8@2', 6500), { timeMs: 6500, older: false }, 'a new process: a reset by the rule');
  assert.deepEqual(placeByCounters(undefined, less, '7@1', 6500), { timeMs: 6500, older: false });
  assert.deepEqual(placeByCounters(newest, mixed, '7@1', 6500), { timeMs: 6500, older: false }, 'one counter up, one down: no order by counters; a reset by the rule');
  assert.deepEqual(placeByCounters(newest, { ...newest }, '7@1', 3500), { timeMs: 3500, older: true }, 'equal counters: the stamp decides');
  assert.deepEqual(placeByCounters(newest, { ...newest }, '7@1', 6500), { timeMs: 6500, older: false });
  // Stamped farther apart than any clock disagrees: the stamps order them, a lower counter is a reset.
  assert.deepEqual(placeByCounters(newest, less, '7@1', 5000 + 60_000), { timeMs: 65_000, older: false });
  assert.deepEqual(placeByCounters({ ...newest, timeMs: 100_000 }, more, '7@1', 5000), { timeMs: 5000, older: true });
});

for (const { fixture, skip } of await engines()) {
  describe(`readings ordered by counters [${fixture.name}]`, { skip }, () => {
    let store: Store;
    let location: string;
    before(async () => {
      location = await fixture.create();
      store = await openStore(location);
      await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
      for (const id of [1, 2]) await putHost(store.db, { id, clusterId: 1, name: `lb-${id}`, stats: { url: `http://127.0.0.1:9/stats-${id};csv` } });
    });
    after(async () => {
      await store.close();
      await fixture.cleanup();
    });

    const create = (lbId: number) => ingestEvents(store, [{
      id: `create-${lbId}`, type: 'CREATE_LOADBALANCER', timeMs: h0, accountId: 5, loadBalancerId: lbId,
      loadBalancer: { name: `lb${lbId}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: lbId, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
    }], now);
    const read = (hostId: number, lbId: number, timeMs: number, bytesIn: bigint, bytesOut = 0n) => ingestSample(store, {
      hostId, timeMs, process: process7,
      loadBalancers: [{ accountId: 5, loadBalancerId: lbId, bytesIn, bytesOut, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 1, connectionsSsl: 0 }],
    }, { deltaCeiling: 2n ** 40n, nowMs: now });
    const billed = async (lbId: number) => {
      let sum = 0n;
      for (let h = h0; h < h0 + 2 * HOUR_MS; h += HOUR_MS) for (const d of (await rollHour(store.db, h, h + HOUR_MS, { loadBalancerIds: [lbId] })).drafts) sum += BigInt(d.bytesIn) + BigInt(d.bytesOut);
      return sum;
    };

    test('a reader whose clock is 1.5 s behind: its later reading, stamped earlier, bills what the counter moved, once', async () => {
      await create(31);
      const t = h0 + 10 * 60_000;
      await read(1, 31, t + 1500, 1000n);
      // Read after the one above (higher counters) by a poller 1.5 s behind.
      await read(1, 31, t, 2456n);
      await read(1, 31, t + 5 * 60_000, 3000n);
      assert.equal(await billed(31), 3000n, 'the counter moved 3000 bytes from the CREATE (it used to bill 4000)');
    });

    test('a reader whose clock is ahead: its earlier reading, stamped later, takes its place before', async () => {
      await create(32);
      const t = h0 + 12 * 60_000; // a sample key (host, process, time) is claimed once
      await read(1, 32, t, 2000n, 20n);
      // Read before the one above (lower counters), stamped 1.5 s after it, stored after it.
      await read(1, 32, t + 1500, 1000n, 10n);
      await read(1, 32, t + 5 * 60_000, 2500n, 25n);
      assert.equal(await billed(32), 2525n, 'no reset from a counter that only looked lower');
      const stamps = await store.db.selectFrom('usage_samples').select('time_ms').where('load_balancer_id', '=', 32).orderBy('time_ms').execute();
      assert.deepEqual(stamps.map((r) => Number(r.time_ms) - t), [1500, 1501, 5 * 60_000], 'the lower counters keep their stamp, the higher go just after, as in the other arrival order');
    });

    test('two readers behind, both read after a third: both higher readings move after the lower one, in their order', async () => {
      await create(36);
      const t = h0 + 50 * 60_000;
      // Found by the arrival-order property (seed -2000191718): read at t, then twice more by
      // readers whose clocks were 1.7 s and 1 s behind; the first read arrived last.
      await read(1, 36, t - 1700, 1200n);
      await read(1, 36, t - 1000, 1300n);
      await read(1, 36, t + 5 * 60_000, 2000n);
      await read(1, 36, t, 1000n);
      const stamps = await store.db.selectFrom('usage_samples').select(['time_ms', 'bytes_in']).where('load_balancer_id', '=', 36).orderBy('time_ms').execute();
      assert.deepEqual(stamps.map((r) => [Number(r.time_ms) - t, Number(r.bytes_in)]), [[0, 1000], [1, 200], [2, 100], [5 * 60_000, 700]],
        'the lowest keeps its stamp (and is the process\'s first reading), the two higher follow it');
      const held = await store.db.selectFrom('anomalies').select('kind').where('load_balancer_id', '=', 36).execute();
      assert.deepEqual(held, [], 'nothing held as stale (it used to hold the lowest reading)');
    });

    test('no traffic between two readers: equal counters say nothing of order, the stamps keep it; nothing held', async () => {
      await create(33);
      const t = h0 + 25 * 60_000;
      await read(1, 33, t, 700n);
      await read(1, 33, t - 800, 700n); // the same counters, stamped 800 ms before
      await read(1, 33, t + 60_000, 900n);
      assert.equal(await billed(33), 900n);
      const stamps = await store.db.selectFrom('usage_samples').select('time_ms').where('load_balancer_id', '=', 33).orderBy('time_ms').execute();
      assert.deepEqual(stamps.map((r) => Number(r.time_ms) - t), [-800, 0, 60_000], 'each reading keeps its stamp');
      const held = await store.db.selectFrom('anomalies').select('kind').where('load_balancer_id', '=', 33).execute();
      assert.deepEqual(held, []);
    });

    test('readings minutes apart keep their stamps: a counter cleared in between is a reset, in any arrival order', async () => {
      await create(35);
      const t = h0 + 40 * 60_000;
      await read(1, 35, t + 5 * 60_000, 50n); // after `clear counters all`, arrived first
      await read(1, 35, t, 1000n); // before it, arrived late
      assert.equal(await billed(35), 1050n);
    });

    test('a slice\'s chains read ahead answer every instant as the store does: the same neighbours, or the store asked where they cannot tell', async () => {
      await create(50);
      const t = h0 + 80 * 60_000;
      for (const [s, b] of [[0, 10n], [7, 20n], [9, 30n], [40, 40n], [41, 50n], [90, 60n]] as const) await read(1, 50, t + s * 1000, b);
      for (const [fromS, toS] of [[-5, Infinity], [0, Infinity], [8, Infinity], [40, Infinity], [95, Infinity], [0, 40], [8, 41], [-5, 8]]) {
        const fromMs = t + fromS * 1000;
        const toMs = t + toS * 1000;
        const chains = await recentChainReadings(store.db, 1, [50, 51], fromMs, toMs);
        assert.deepEqual([...chains.keys()], fromS < 95 ? [50] : [], 'load balancers with readings from fromMs on');
        let asked = 0;
        const fromStore = (ms: number) => (asked++, chainNeighbours(store.db, 1, 50, ms));
        const near = neighboursIn(chains.get(50) ?? [], fromMs, toMs, fromStore);
        for (let ms = t - 2000; ms <= t + 95_000; ms += 500) {
          assert.deepEqual(await near(ms), await chainNeighbours(store.db, 1, 50, ms), `at ${ms - t} ms, read from ${fromS} s to ${toS} s`);
        }
        if (fromS === 0 && toS === Infinity) assert.equal(asked, 4, 'only the instants before the first reading read ahead go to the store');
        if (fromS === 0 && toS === 40) assert.equal(asked, 4 + 111, 'and, read to 40 s, the instants from 40 s on');
      }
    });

    // HAProxy's `clear counters all` between two reads 10 s apart: the counters fall within the
    // window in which they order a process's readings. 100 counted from the CREATE, then 100,
    // the clear, 5 since it, 10, 10 and 35: 260 bytes. Counters can avoid no reset here, so the
    // stamps order the readings (this billed 360: the reading before the clear moved after
    // every later one stamped within 15 s of it and billed its counters again).
    const clearedAt20: [number, bigint][] = [[0, 100n], [10, 200n], [20, 5n], [30, 15n], [40, 25n], [100, 60n]];
    for (const [k, [name, order]] of ([
      ['in time', [0, 1, 2, 3, 4, 5]],
      ['the first read after the clear arriving last', [0, 1, 3, 4, 5, 2]],
      ['the last read before the clear arriving after the first read after it', [0, 2, 1, 3, 4, 5]],
      ['the last read before the clear arriving after three read after it', [0, 2, 3, 4, 1, 5]],
      // Until the reading before them both comes, counters alone cannot tell the clear from a
      // clock: the reading before the clear is placed after the first one after it, and goes back
      // to its stamp once the chain shows the clear (this billed 360).
      ['the last read before the clear and the first after it arriving before the read before them', [1, 2, 0, 3, 4, 5]],
      ['the first read after the clear, then the last before it, then the read before them', [2, 1, 0, 3, 4, 5]],
    ] as const).entries()) {
      test(`a reader every 10 s and a clear of the counters between two reads, ${name}: each reading keeps its stamp, the bill is what the counters counted`, async () => {
        const lb = 40 + k;
        await create(lb);
        const t = h0 + (61 + 3 * k) * 60_000; // a sample key (host, process, time) is claimed once
        for (const i of order) await read(1, lb, t + clearedAt20[i]![0] * 1000, clearedAt20[i]![1]);
        assert.equal(await billed(lb), 260n);
        const chain = await store.db.selectFrom('usage_samples').select(['time_ms', 'bytes_in', 'kind']).where('load_balancer_id', '=', lb).orderBy('time_ms').execute();
        assert.deepEqual(chain.map((r) => [(Number(r.time_ms) - t) / 1000, Number(r.bytes_in)]), [[0, 100], [10, 100], [20, 5], [30, 10], [40, 10], [100, 35]]);
        assert.equal(Number(chain[2]!.kind), 2, 'the first reading after the clear is a reset (counts from zero)');
        const held = await store.db.selectFrom('anomalies').select('kind').where('load_balancer_id', '=', lb).execute();
        assert.deepEqual(held, [], 'nothing held as stale');
      });
    }

    test('a clear shown by the first reading after it arriving last: the reading from before it that the counters placed later goes back to its stamp', async () => {
      await create(47);
      const t = h0 + 85 * 60_000;
      // 100 from the CREATE, 100, the clear, 5 since it, 145, 55: 405 bytes. The reading at 10 s
      // came after the one at 25 s, higher within 15 s of it: a clock's error, until the one at
      // 20 s shows the counters fell below the reading at 0 (this billed 305).
      const story: [number, bigint][] = [[0, 100n], [10, 200n], [20, 5n], [25, 150n], [100, 205n]];
      for (const i of [0, 3, 1, 2, 4]) await read(1, 47, t + story[i]![0] * 1000, story[i]![1]);
      assert.equal(await billed(47), 405n);
      const chain = await store.db.selectFrom('usage_samples').select(['time_ms', 'bytes_in', 'read_ms']).where('load_balancer_id', '=', 47).orderBy('time_ms').execute();
      assert.deepEqual(chain.map((r) => [(Number(r.time_ms) - t) / 1000, Number(r.bytes_in), r.read_ms]), [[0, 100, null], [10, 100, null], [20, 5, null], [25, 145, null], [100, 55, null]],
        'every reading at the stamp it was read at, and none kept as moved');
    });

    test('a reading placed by its counters keeps the stamp it was read at', async () => {
      await create(48);
      const t = h0 + 90 * 60_000;
      await read(1, 48, t + 1500, 1000n);
      await read(1, 48, t, 2456n); // read after the one above by a reader 1.5 s behind
      const chain = await store.db.selectFrom('usage_samples').select(['time_ms', 'read_ms']).where('load_balancer_id', '=', 48).orderBy('time_ms').execute();
      assert.deepEqual(chain.map((r) => [Number(r.time_ms) - t, r.read_ms === null ? null : Number(r.read_ms) - t]), [[1500, null], [1501, 0]]);
    });

    test('a reading between two that hold consecutive instants goes between them: the higher moves a millisecond on, nothing held', async () => {
      await create(49);
      const t = h0 + 95 * 60_000;
      // Found by the arrival-order property (seed 1087405026): a round's read, then two second
      // readers whose clocks were behind; the later of them (higher) arrived first and went just
      // after the round's read, where the earlier one's place is (it was held as stale).
      await read(1, 49, t, 1000n);
      await read(1, 49, t - 1005, 1300n);
      await read(1, 49, t - 108, 1100n);
      await read(1, 49, t + 5 * 60_000, 2000n);
      assert.equal(await billed(49), 2000n);
      const chain = await store.db.selectFrom('usage_samples').select(['time_ms', 'bytes_in']).where('load_balancer_id', '=', 49).orderBy('time_ms').execute();
      assert.deepEqual(chain.map((r) => [Number(r.time_ms) - t, Number(r.bytes_in)]), [[0, 1000], [1, 100], [2, 200], [5 * 60_000, 700]]);
      const held = await store.db.selectFrom('anomalies').select('kind').where('load_balancer_id', '=', 49).execute();
      assert.deepEqual(held, [], 'nothing held as stale');
    });

    test('a slow store lets another reader in between a cycle\'s start and its read: no byte twice', async () => {
      await create(34);
      // The cycle's stamp comes first in time, but its counters were read after the hook's.
      const cycleStart = h0 + 30 * 60_000;
      await read(2, 34, cycleStart + 100, 5_000_000n); // the pre-reload hook's read
      await read(2, 34, cycleStart, 5_000_600n); // the cycle, stamped at its start, read later
      assert.equal(await billed(34), 5_000_600n);
    });
  });
}

// One clock for the deployment: a poller more than a second from PostgreSQL's clock refuses.
const [, postgres] = await engines();
const noFaketime = spawnSync('faketime', ['--version']).error ? 'faketime is not installed (Debian package faketime)' : undefined;
if (noFaketime && process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${noFaketime}`);
if (noFaketime) console.log(`# skipping the skewed poller: ${noFaketime}`);
describe('a poller whose clock is off refuses to poll [postgres]', { skip: postgres!.skip ?? noFaketime }, () => {
  let location: string;
  before(async () => {
    location = await postgres!.fixture.create();
    const store = await openStore(location);
    await migrate(store.db);
    await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
    await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1', stats: { url: 'http://127.0.0.1:9/never-read;csv' } });
    await store.close();
  });
  after(() => postgres!.fixture.cleanup());

  test('2 s behind (faketime): exit 1, the reason per host; on time it polls (and fails only on the host)', async () => {
    const env = { ...process.env, LBMETER_DB: location, LBMETER_POLL_TIMEOUT: '1' };
    // faketime as an operator would run it, in front of the real command.
    const skewed = spawnSync('faketime', ['-f', '-2s', process.execPath, BIN, 'poll', '--once'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(skewed.status, 1, skewed.stderr);
    assert.match(skewed.stdout, /lb-1\tFAILED not polled: this machine's clock is 2\.\d s behind the store's/);
    const onTime = await lbmeterWith(env)(['poll', '--once']);
    assert.equal(onTime.code, 1);
    assert.doesNotMatch(onTime.stdout, /clock/, 'on time, the host itself is tried (and is not there)');
  });
});
