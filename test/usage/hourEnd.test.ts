// A rollup asked for an end past its hour (a caller's "up to now") must bill no byte of the next
// hour: the creation hour reads from before the CREATE, and once read up to "now" it also took
// the next hour's readings, which the next hour billed again (seen in CI as every byte twice).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { openStore } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { HOUR_MS } from '../../src/domain/time.ts';

const [sqlite] = await engines();
const store = await openStore(await sqlite.fixture.create());
after(async () => {
  await store.close();
  await sqlite.fixture.cleanup();
});

test('an end past the hour is the hour\'s end: the creation hour never bills the next hour\'s bytes', async () => {
  const h0 = Date.UTC(2026, 10, 21, 10);
  const now = h0 + HOUR_MS + 20 * 60_000;
  await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
  await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1' });
  await ingestEvents(store, [{
    id: 'create', type: 'CREATE_LOADBALANCER', timeMs: h0 + HOUR_MS - 60_000, accountId: 8, loadBalancerId: 80,
    loadBalancer: { name: 'lb', protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: 1, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
  }], now);
  // Read in the next hour only: 1000 bytes in, after the CREATE's zero baseline.
  for (const [minute, bytesIn] of [[5, 400n], [15, 1000n]] as const) {
    await ingestSample(store, {
      hostId: 1, timeMs: h0 + HOUR_MS + minute * 60_000, process: { pid: 7, startMs: h0 },
      loadBalancers: [{ accountId: 8, loadBalancerId: 80, bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 }],
    }, { deltaCeiling: 2n ** 40n, nowMs: now });
  }
  const bytesIn = async (hour: number, until: number) => (await rollHour(store.db, hour, until)).drafts.reduce((sum, d) => sum + Number(d.bytesIn), 0);
  const creationHour = await bytesIn(h0, now);
  assert.equal(creationHour, await bytesIn(h0, h0 + HOUR_MS));
  assert.equal(creationHour + await bytesIn(h0 + HOUR_MS, now), 1000);
});
