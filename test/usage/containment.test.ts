// Containment (SPEC 5): one load balancer's records passing 2^63 - 1 bytes is that load
// balancer's anomaly, never the fleet's failed rollup; traffic on frontends no CREATE names is
// shown (an anomaly, lbmeter_unbilled_bytes_total) and billed once the CREATE comes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachStore } from '../helpers/storeSuite.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { discardAnomaly, releaseAnomaly } from '../../src/usage/corrections.ts';
import { Metrics } from '../../src/metrics.ts';
import { DAY_MS, HOUR_MS } from '../../src/domain/time.ts';
import { compactDay } from '../../src/store/compaction.ts';
import type { LifecycleEvent } from '../../src/domain/types.ts';

const H = Date.UTC(2026, 10, 21, 10);
const MAX = 2n ** 63n - 1n;

const create = (lbId: number, timeMs: number): LifecycleEvent => ({
  id: `create-${lbId}`, type: 'CREATE_LOADBALANCER', timeMs, accountId: 4, loadBalancerId: lbId,
  loadBalancer: { name: `lb${lbId}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: lbId, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
});

forEachStore('containment', (store) => {
  const read = (minute: number, readings: { lb: number; bytesIn: bigint }[]) => ingestSample(store(), {
    hostId: 1, timeMs: H + minute * 60_000, process: { pid: 9, startMs: H - 2 * HOUR_MS },
    loadBalancers: readings.map((r) => ({ accountId: 4, loadBalancerId: r.lb, bytesIn: r.bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 })),
  }, { deltaCeiling: MAX, nowMs: H });
  const records = async (lbId: number) => (await store().db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', lbId).where('hour_ms', '=', H).execute())
    .map((r) => BigInt(r.bytes_in));

  test('a record past 2^63 - 1 bytes holds its load balancer, in a quiet hour and in its creation hour; the rest rolls up', async () => {
    // 71: created the hour before (a quiet hour); 72: created in the hour; 73: ordinary.
    await ingestEvents(store(), [create(71, H - HOUR_MS), create(72, H + 60_000), create(73, H - HOUR_MS)], H);
    await read(0, [{ lb: 71, bytesIn: 0n }, { lb: 73, bytesIn: 0n }]);
    await read(10, [{ lb: 71, bytesIn: 2n ** 62n }, { lb: 72, bytesIn: 2n ** 62n }, { lb: 73, bytesIn: 100n }]);
    await read(20, [{ lb: 71, bytesIn: 2n ** 63n + 5n }, { lb: 72, bytesIn: 2n ** 63n + 5n }, { lb: 73, bytesIn: 250n }]);
    const r = await runRollup(store(), { nowMs: H + HOUR_MS + 60_000, graceMs: 0 });
    assert.equal(r.hoursFinalized, 2, 'the hours roll up and become final');
    assert.deepEqual(await records(73), [250n]);
    assert.deepEqual([await records(71), await records(72)], [[], []], 'no record that cannot carry its bytes');
    const held = await listAnomalies(store().db, { kind: 'RECORD_OVERFLOW' });
    assert.deepEqual(held.map((a) => [a.loadBalancerId, a.timeMs, a.status]), [[71, H, 'HELD'], [72, H, 'HELD']]);
    await assert.rejects(releaseAnomaly(store(), held[0]!.id, H + 2 * HOUR_MS), /no usage record can carry/);
    await discardAnomaly(store(), held[0]!.id, H + 2 * HOUR_MS);
    await runRollup(store(), { nowMs: H + 2 * HOUR_MS + 60_000, graceMs: 0 });
    assert.equal((await listAnomalies(store().db, { kind: 'RECORD_OVERFLOW' })).length, 2, 'a decided hold is not made again');
  });

  test('traffic on a frontend no CREATE names is held and counted; a late CREATE bills it', async () => {
    const h = H + 3 * HOUR_MS;
    const readAt = (minute: number, bytesIn: bigint) => ingestSample(store(), {
      hostId: 1, timeMs: h + minute * 60_000, process: { pid: 10, startMs: h - HOUR_MS },
      loadBalancers: [{ accountId: 4, loadBalancerId: 80, bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 }],
    }, { deltaCeiling: MAX, nowMs: h });
    await readAt(10, 700n);
    await readAt(20, 1000n);
    await runRollup(store(), { nowMs: h + HOUR_MS + 60_000, graceMs: 2 * HOUR_MS });
    const [unknown] = await listAnomalies(store().db, { kind: 'UNKNOWN_LOAD_BALANCER' });
    assert.deepEqual([unknown?.loadBalancerId, unknown?.timeMs, unknown?.held?.bytesIn], [80, h, 1000n]);
    const metrics = new Metrics(store());
    assert.match(await metrics.registry.getSingleMetricAsString('lbmeter_unbilled_bytes_total'), /lbmeter_unbilled_bytes_total\{kind="UNKNOWN_LOAD_BALANCER"\} 1000\b/);
    await assert.rejects(releaseAnomaly(store(), unknown!.id, h + HOUR_MS), /post its CREATE_LOADBALANCER/);

    // The control plane's CREATE comes late, before the readings: they bill, the hold goes.
    await ingestEvents(store(), [create(80, h + 5 * 60_000)], h + HOUR_MS);
    await runRollup(store(), { nowMs: h + HOUR_MS + 120_000, graceMs: 2 * HOUR_MS });
    assert.deepEqual(await listAnomalies(store().db, { kind: 'UNKNOWN_LOAD_BALANCER' }), []);
    const billed = await store().db.selectFrom('usage_records').select('bytes_in').where('load_balancer_id', '=', 80).execute();
    assert.equal(billed.reduce((t, r) => t + BigInt(r.bytes_in), 0n), 1000n);
    assert.match(await metrics.registry.getSingleMetricAsString('lbmeter_unbilled_bytes_total'), /lbmeter_unbilled_bytes_total\{kind="UNKNOWN_LOAD_BALANCER"\} 0\b/);
  });

  test('a DELETE released into a compacted hour is refused with the reason, never billed on the wrong side', async () => {
    const day = Date.UTC(2026, 10, 24);
    const h = day + 10 * HOUR_MS;
    await ingestEvents(store(), [create(90, day + HOUR_MS)], day + HOUR_MS);
    for (const [minute, bytesIn] of [[10, 1000n], [20, 3000n], [50, 4000n]] as const) {
      await ingestSample(store(), {
        hostId: 1, timeMs: h + minute * 60_000, process: { pid: 11, startMs: day },
        loadBalancers: [{ accountId: 4, loadBalancerId: 90, bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 }],
      }, { deltaCeiling: MAX, nowMs: h + HOUR_MS });
    }
    await runRollup(store(), { nowMs: day + 2 * DAY_MS, graceMs: 0 });
    assert.ok(await compactDay(store().db, day, day + 2 * DAY_MS), 'the day compacted into hourly rows');
    // The DELETE came at 10:30: uncompacted, 3000 bytes before it and 1000 held after it.
    await ingestEvents(store(), [{ id: 'late-delete-90', type: 'DELETE_LOADBALANCER', timeMs: h + 30 * 60_000, accountId: 4, loadBalancerId: 90 }], day + 2 * DAY_MS);
    const [late] = (await listAnomalies(store().db, { kind: 'LATE_EVENT' })).filter((a) => a.loadBalancerId === 90);
    await assert.rejects(releaseAnomaly(store(), late!.id, day + 2 * DAY_MS), /falls inside an hour whose readings were compacted/);
    assert.equal((await listAnomalies(store().db, { kind: 'LATE_EVENT' })).find((a) => a.id === late!.id)?.status, 'HELD', 'still waiting for a decision');
  });
});
