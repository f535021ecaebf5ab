// Ingest and finalisation of an hour are serialised (SPEC 5, Late data): one lbmeter process
// takes pushed readings for an hour while another makes that hour final, again and again. Every
// reading ends up billed in a final record or held as late, never committed unheld into an hour
// already final (which the audit would find: the record's readings would bill more than it).

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, createLb, host, ok } from '../helpers/fleet.ts';
import { startLbmeter } from '../../bench/http.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { recordSources, type RecordSources } from '../../src/query/recordSources.ts';
import { reconcile } from '../../src/query/reconciliation.ts';
import { floorHour, HOUR_MS } from '../../src/domain/time.ts';

const postgres = (await engines()).find((e) => e.fixture.name === 'postgres')!;
const MIN = 60_000;
const ROUNDS = 12;
const READINGS = 30;

describe('ingest and finalisation in two processes on one PostgreSQL', { skip: postgres.skip }, () => {
  let api: TestApi | undefined;
  let server: Awaited<ReturnType<typeof startLbmeter>> | undefined;
  after(async () => {
    await server?.stop();
    await api?.close();
    await postgres.fixture.cleanup();
  });

  test('every reading pushed while its hour becomes final is billed in a final record or held', async () => {
    const location = await postgres.fixture.create();
    api = await startApi(location);
    server = await startLbmeter({ LBMETER_DB: location });
    const first = floorHour(Date.now()) - (ROUNDS + 3) * HOUR_MS;
    await cluster(api, 1);
    await host(api, 1, 1);
    await createLb(api, { accountId: 77, id: 770, time: first - HOUR_MS });

    let counter = 0;
    let pushed = 0;
    const push = async (timeMs: number) => {
      counter += 100;
      pushed++;
      await ok(fetch(`${server!.url}/management/usage/samples`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-token': api!.tokens.admin },
        body: JSON.stringify({
          hostId: 1, time: new Date(timeMs).toISOString(), process: { pid: 7, startTime: new Date(first - 2 * HOUR_MS).toISOString() },
          loadBalancers: [{ accountId: 77, loadBalancerId: 770, bytesIn: counter, bytesOut: 2 * counter, bytesInSsl: 0, bytesOutSsl: 0, connections: 1, connectionsSsl: 0 }],
        }),
      }));
    };
    for (let round = 0; round < ROUNDS; round++) {
      const hour = first + round * HOUR_MS;
      // The readings of the hour arrive while this process makes the hour final.
      const pushing = (async () => {
        for (let k = 1; k <= READINGS; k++) await push(hour + k * MIN);
      })();
      await new Promise((r) => setTimeout(r, 5 + round * 4));
      await runRollup(api.store, { nowMs: hour + HOUR_MS, graceMs: 0, waitMs: 10_000 });
      await pushing;
    }
    await runRollup(api.store, { nowMs: first + (ROUNDS + 1) * HOUR_MS, graceMs: 0 });

    const stored = await api.store.db.selectFrom('usage_samples').select(['time_ms', 'hold']).where('load_balancer_id', '=', 770).execute();
    const late = stored.filter((r) => Number(r.hold) === 2).length;
    assert.equal(stored.length, pushed, 'every reading stored');
    const anomalies = await api.store.db.selectFrom('anomalies').select('kind').where('load_balancer_id', '=', 770).execute();
    assert.deepEqual(anomalies.map((a) => a.kind), anomalies.map(() => 'LATE_SAMPLE'));
    assert.equal(anomalies.length, late, 'each late reading held once');
    assert.ok(late > 0 && late < pushed, `the race happened: ${late} of ${pushed} readings came after their hour was final`);

    const records = await api.store.db.selectFrom('usage_records').select('id').where('load_balancer_id', '=', 770).where('final', '=', 1).execute();
    for (const r of records) {
      const sources: RecordSources = (await recordSources(api.store.db, 770, Number(r.id)))!;
      assert.equal(sources.matches, true, `record ${r.id}: its readings bill ${sources.billed.bytesIn}, it says ${sources.record.bytesIn}`);
    }
    assert.deepEqual((await reconcile(api.store.db, first - HOUR_MS, first + ROUNDS * HOUR_MS)).differences, []);
  });
});
