// Retention keeps what a held anomaly needs (SPEC 5, Containment): an anomaly older than the
// retention period can still be released, its reading and its hour's record still there; once
// decided, retention takes them like anything else.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { purgeExpired } from '../../src/jobs/retention.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { releaseAnomaly } from '../../src/usage/corrections.ts';
import { DAY_MS, HOUR_MS } from '../../src/domain/time.ts';

const H = Date.UTC(2026, 10, 21, 10);
const NOW = H + 3 * DAY_MS;

for (const { fixture, skip } of await engines()) {
  describe(`retention and held anomalies [${fixture.name}]`, { skip }, () => {
    let store: Store;
    before(async () => {
      store = await openStore(await fixture.create());
      await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
      await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1' });
    });
    after(async () => {
      await store.close();
      await fixture.cleanup();
    });

    test('a held anomaly past the retention period keeps its reading and record until it is decided', async () => {
      await ingestEvents(store, [{
        id: 'c', type: 'CREATE_LOADBALANCER', timeMs: H, accountId: 3, loadBalancerId: 30,
        loadBalancer: { name: 'x', protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: 1, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
      }], H);
      const read = (minute: number, bytesIn: bigint) => ingestSample(store, {
        hostId: 1, timeMs: H + minute * 60_000, process: { pid: 9, startMs: H + 60_000 },
        loadBalancers: [{ accountId: 3, loadBalancerId: 30, bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 }],
      }, { deltaCeiling: 1000n, nowMs: H + HOUR_MS });
      await read(10, 400n);
      await read(20, 5400n); // 5000 above the ceiling: held
      await runRollup(store, { nowMs: NOW, graceMs: 0 });
      const [held] = await listAnomalies(store.db, { status: 'HELD' });

      // Two days kept: the hour of the anomaly is three days old.
      const purged = await purgeExpired(store, NOW - 2 * DAY_MS, { exportSink: false });
      assert.deepEqual([purged.records, purged.samples], [0, 0], 'its hour on and its host\'s readings are kept for it');
      const decided = await releaseAnomaly(store, held!.id, NOW);
      assert.equal(decided.revised, 1);
      const record = await store.db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', 30).where('hour_ms', '=', H).executeTakeFirstOrThrow();
      assert.equal(Number(record.bytes_in), 5400, 'the released bytes are billed in their hour');

      // Decided: retention takes the hour now.
      await purgeExpired(store, NOW - 2 * DAY_MS, { exportSink: false });
      assert.equal((await store.db.selectFrom('usage_records').select('id').where('hour_ms', '=', H).execute()).length, 0);
    });
  });
}
