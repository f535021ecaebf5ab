// A clear of the counters (HAProxy's `clear counters all`) between reads closer together than
// the counter-order window (SPEC 5, Order of readings): random poll intervals of 1 to 14 s, random
// traffic (none too: equal counters), a clear at a random read that leaves the counters below
// every reading from before it, read by one poller in time. The bill must be every byte the
// counters counted, and every reading must keep its stamp. Until this held, the reading before
// the clear moved after each later one stamped within 15 s of it and billed its counters again.
//
// And the same stories with the readings arriving in any order, a reading from before them all
// more than the window before the clear (with none, a clear cannot be told from a clock): the
// bill is every byte. A reading placed by its counters before the clear was known goes back to
// the stamp it was read at once it is (counterOrder.ts returnReadBeforeClear); before, orders in
// which the readings before the clear came before the one before them all billed them twice.
// Stamps are not asserted there: where equal counters on both sides of the clear meet at one
// instant, a reading is held as stale (docs/decisions.md). PROPERTY_RUNS and PROPERTY_SEED
// repeat or widen a run.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { HOUR_MS } from '../../src/domain/time.ts';

const H0 = Date.UTC(2026, 10, 21, 10);
const NOW = H0 + 3 * HOUR_MS;
/** Before the reads: a reading of the process more than the window before the clear. */
const FIRST_MS = H0 + 60_000;
const dir = mkdtempSync(join(tmpdir(), 'lbmeter-clears-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let stores = 0;
async function deliver(readings: { timeMs: number; bytesIn: bigint }[]) {
  const store = await openStore(join(dir, `${stores++}.db`));
  try {
    await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
    await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1', stats: { url: 'http://127.0.0.1:9/stats;csv' } });
    await ingestEvents(store, [{
      id: 'create', type: 'CREATE_LOADBALANCER', timeMs: H0, accountId: 5, loadBalancerId: 1,
      loadBalancer: { name: 'lb', protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: 1, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
    }], NOW);
    for (const { timeMs, bytesIn } of readings) {
      await ingestSample(store, {
        hostId: 1, timeMs, process: { pid: 7, startMs: H0 - HOUR_MS },
        loadBalancers: [{ accountId: 5, loadBalancerId: 1, bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 1, connectionsSsl: 0 }],
      }, { deltaCeiling: 2n ** 40n, nowMs: NOW });
    }
    let billed = 0n;
    for (const d of (await rollHour(store.db, H0, H0 + HOUR_MS)).drafts) billed += BigInt(d.bytesIn);
    const stamps = (await store.db.selectFrom('usage_samples').select('time_ms').orderBy('time_ms').execute()).map((r) => Number(r.time_ms));
    return { billed, stamps };
  } finally {
    await store.close();
  }
}

const storyArb = fc.record({
  intervalMs: fc.integer({ min: 1000, max: 14_000 }),
  reads: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 8 }),
  clearAt: fc.nat(),
  /** What the counters count from the clear to the read after it: below the first reading's 100. */
  sinceClear: fc.integer({ min: 0, max: 99 }),
});

/**
 * The story's readings in time and every byte its counters counted: 100 from the CREATE to the
 * first reading, `firstGapMs` before the reads; a read a minute and a half after the last, so
 * every byte before it is in some delta.
 */
function storyReadings({ intervalMs, reads, clearAt, sinceClear }: typeof storyArb extends fc.Arbitrary<infer T> ? T : never, firstGapMs: number) {
  const readings = [{ timeMs: FIRST_MS, bytesIn: 100n }];
  let counter = 100n;
  let counted = 100n;
  const clear = 1 + (clearAt % reads.length);
  reads.forEach((bytes, i) => {
    if (i + 1 === clear) counter = 0n;
    const moved = BigInt(i + 1 === clear ? sinceClear : bytes);
    counter += moved;
    counted += moved;
    readings.push({ timeMs: FIRST_MS + firstGapMs + i * intervalMs, bytesIn: counter });
  });
  readings.push({ timeMs: readings.at(-1)!.timeMs + 90_000, bytesIn: counter + 7n });
  return { readings, counted: counted + 7n };
}

const runs = { numRuns: Number(process.env.PROPERTY_RUNS ?? 60), ...(process.env.PROPERTY_SEED ? { seed: Number(process.env.PROPERTY_SEED) } : {}) };

test('a clear between reads closer than the window: one poller in time bills every byte the counters counted, each reading at its stamp', async () => {
  await fc.assert(fc.asyncProperty(storyArb, async (story) => {
    const { readings, counted } = storyReadings(story, 20_000);
    const { billed, stamps } = await deliver(readings);
    assert.equal(billed, counted);
    assert.deepEqual(stamps, readings.map((r) => r.timeMs));
  }), runs);
});

test('the same clear, the readings arriving in any order: every byte the counters counted is billed once', async () => {
  // Each reading goes to the arrival slot its random key picks among those left: any permutation.
  const arrivalArb = fc.record({ story: storyArb, firstGapMs: fc.integer({ min: 15_001, max: 30_000 }), keys: fc.array(fc.nat(), { minLength: 10, maxLength: 10 }) });
  await fc.assert(fc.asyncProperty(arrivalArb, async ({ story, firstGapMs, keys }) => {
    const { readings, counted } = storyReadings(story, firstGapMs);
    const left = [...readings];
    const arrivals = readings.map((_, i) => left.splice(keys[i]! % left.length, 1)[0]!);
    const { billed } = await deliver(arrivals);
    assert.equal(billed, counted, `arrived ${arrivals.map((a) => readings.indexOf(a)).join(',')}`);
  }), runs);
});
