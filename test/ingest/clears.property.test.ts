// A clear of the counters (HAProxy's `clear counters all`) between reads closer together than
// the counter-order window (SPEC 5, Order of readings): random poll intervals of 1 to 14 s, random
// traffic (none too: equal counters), a clear at a random read that leaves the counters below
// every reading from before it, read by one poller in time. The bill must be every byte the
// counters counted, and every reading must keep its stamp. Until this held, the reading before
// the clear moved after each later one stamped within 15 s of it and billed its counters again.
//
// Readings that arrive out of order around such a clear are exact while the clear is already in
// the chain when they arrive (test/ingest/counterOrder.test.ts); docs/decisions.md says what is
// left. PROPERTY_RUNS and PROPERTY_SEED repeat or widen a run.

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

test('a clear between reads closer than the window: one poller in time bills every byte the counters counted, each reading at its stamp', async () => {
  await fc.assert(fc.asyncProperty(storyArb, async ({ intervalMs, reads, clearAt, sinceClear }) => {
    // 100 bytes from the CREATE to the first reading, 20 s before the reads.
    const readings = [{ timeMs: FIRST_MS, bytesIn: 100n }];
    let counter = 100n;
    let counted = 100n;
    const clear = 1 + (clearAt % reads.length);
    reads.forEach((bytes, i) => {
      if (i + 1 === clear) counter = 0n;
      const moved = BigInt(i + 1 === clear ? sinceClear : bytes);
      counter += moved;
      counted += moved;
      readings.push({ timeMs: FIRST_MS + 20_000 + i * intervalMs, bytesIn: counter });
    });
    // And one read a minute and a half later: every byte before it is in some delta.
    readings.push({ timeMs: readings.at(-1)!.timeMs + 90_000, bytesIn: counter + 7n });
    counted += 7n;
    const { billed, stamps } = await deliver(readings);
    assert.equal(billed, counted);
    assert.deepEqual(stamps, readings.map((r) => r.timeMs));
  }), { numRuns: Number(process.env.PROPERTY_RUNS ?? 60), ...(process.env.PROPERTY_SEED ? { seed: Number(process.env.PROPERTY_SEED) } : {}) });
});
