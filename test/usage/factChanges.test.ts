// A provisional hour is rolled again only where its facts changed (store/factChanges.ts): an hour
// nothing changed in keeps its records as they were written (their roll stamps), a late event
// rolls its load balancer again in every provisional hour and leaves the others alone, a late
// reading rolls its hour whole; and each ends with the records a store that had every fact before
// its one rollup makes. The arrival property (arrival.property.test.ts) shuffles the rest.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { HOUR_MS } from '../../src/domain/time.ts';
import type { LifecycleEvent } from '../../src/domain/types.ts';

const H0 = Date.UTC(2026, 10, 21, 10);
const NOW = H0 + 3 * HOUR_MS + 10 * 60_000; // hours 10, 11 and 12 ended, all provisional
const GRACE = 24 * HOUR_MS;
const MINUTE = 60_000;

const create = (lbId: number): LifecycleEvent => ({
  id: `create-${lbId}`, type: 'CREATE_LOADBALANCER', timeMs: H0, accountId: 8, loadBalancerId: lbId,
  loadBalancer: { name: `lb-${lbId}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: lbId, address: `10.0.0.${lbId}`, ipVersion: 'IPV4', type: 'PUBLIC' }] },
} as LifecycleEvent);
const deletion = (lbId: number, timeMs: number): LifecycleEvent => ({ id: `delete-${lbId}`, type: 'DELETE_LOADBALANCER', timeMs, accountId: 8, loadBalancerId: lbId } as LifecycleEvent);

/** A reading of both load balancers every 10 minutes from the CREATE on, `bytes` more each time. */
async function read(store: Store, minutes: number[]): Promise<void> {
  for (const minute of minutes) {
    const counter = BigInt(minute) * 1000n;
    await ingestSample(store, {
      hostId: 1, timeMs: H0 + minute * MINUTE, process: { pid: 7, startMs: H0 - HOUR_MS },
      loadBalancers: [81, 82].map((lbId) => ({ accountId: 8, loadBalancerId: lbId, bytesIn: counter, bytesOut: counter * 2n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 1, connectionsSsl: 0 })),
    }, { deltaCeiling: 2n ** 40n, nowMs: NOW });
  }
}

const EVERY_TEN_MINUTES = Array.from({ length: 18 }, (_, i) => i * 10);

/** Records by load balancer and start: their figures, and the stamp of the roll that wrote them. */
async function records(store: Store) {
  const rows = await store.db.selectFrom('usage_records')
    .select(['load_balancer_id', 'start_ms', 'end_ms', 'bytes_in', 'bytes_out', 'event_type', 'roll_stamp'])
    .orderBy('load_balancer_id').orderBy('start_ms').execute();
  return rows.map((r) => ({ lb: Number(r.load_balancer_id), start: Number(r.start_ms), end: Number(r.end_ms), bytes: `${r.bytes_in}/${r.bytes_out}`, event: r.event_type, stamp: String(r.roll_stamp) }));
}
const figures = (rs: Awaited<ReturnType<typeof records>>) => rs.map(({ stamp: _stamp, ...r }) => r);
const stamps = (rs: Awaited<ReturnType<typeof records>>, lbId: number) => rs.filter((r) => r.lb === lbId).map((r) => r.stamp);

for (const { fixture, skip } of await engines()) {
  describe(`provisional hours rolled again where their facts changed [${fixture.name}]`, { skip }, () => {
    const opened: Store[] = [];
    const fresh = async () => {
      const store = await openStore(await fixture.create());
      opened.push(store);
      await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
      await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1' });
      await ingestEvents(store, [create(81), create(82)], NOW);
      return store;
    };
    let store: Store;
    before(async () => {
      store = await fresh();
      await read(store, EVERY_TEN_MINUTES);
      assert.equal((await runRollup(store, { nowMs: NOW, graceMs: GRACE })).hoursRolled, 3);
    });
    after(async () => {
      for (const s of opened) await s.close();
      await fixture.cleanup();
    });

    test('an hour nothing changed in is left as it was written', async () => {
      const first = await records(store);
      const again = await runRollup(store, { nowMs: NOW + 5 * MINUTE, graceMs: GRACE });
      assert.equal(again.hoursRolled, 0);
      assert.deepEqual(await records(store), first, 'the same records, written by the same rolls');
    });

    test('a late event rolls its load balancer again in every provisional hour, and no other', async () => {
      const first = await records(store);
      await ingestEvents(store, [deletion(81, H0 + HOUR_MS + 25 * MINUTE)], NOW);
      const again = await runRollup(store, { nowMs: NOW + 10 * MINUTE, graceMs: GRACE });
      assert.equal(again.hoursRolled, 3, 'every provisional hour, for the one load balancer');
      const now = await records(store);
      assert.deepEqual(stamps(now, 82), stamps(first, 82), 'the other load balancer\'s records are not written again');
      assert.notDeepEqual(stamps(now, 81), stamps(first, 81));

      const once = await fresh();
      await read(once, EVERY_TEN_MINUTES);
      await ingestEvents(once, [deletion(81, H0 + HOUR_MS + 25 * MINUTE)], NOW);
      await runRollup(once, { nowMs: NOW + 10 * MINUTE, graceMs: GRACE });
      assert.deepEqual(figures(now), figures(await records(once)), 'what one rollup of every fact makes');
      assert.equal(now.filter((r) => r.lb === 81).at(-1)!.end, H0 + HOUR_MS + 25 * MINUTE, 'the deleted load balancer\'s records end at its deletion');
    });

    test('a late reading rolls its hour whole, and only hours from its own on', async () => {
      const first = await records(store);
      // A second host's reading of hour 12, late: every load balancer's hour 12 may move.
      await putHost(store.db, { id: 2, clusterId: 1, name: 'lb-2' });
      await ingestSample(store, {
        hostId: 2, timeMs: H0 + 2 * HOUR_MS + 30 * MINUTE, process: { pid: 9, startMs: H0 - HOUR_MS },
        loadBalancers: [{ accountId: 8, loadBalancerId: 82, bytesIn: 5n, bytesOut: 5n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 1, connectionsSsl: 0 }],
      }, { deltaCeiling: 2n ** 40n, nowMs: NOW });
      const again = await runRollup(store, { nowMs: NOW + 15 * MINUTE, graceMs: GRACE });
      assert.equal(again.hoursRolled, 1, 'hour 12 alone');
      const now = await records(store);
      const ofHour = (rs: typeof now, hour: number) => rs.filter((r) => r.start >= hour && r.start < hour + HOUR_MS);
      assert.deepEqual(ofHour(now, H0), ofHour(first, H0), 'hour 10 as it was');
      assert.notDeepEqual(stamps(ofHour(now, H0 + 2 * HOUR_MS), 82), stamps(ofHour(first, H0 + 2 * HOUR_MS), 82));
    });

    test('an hour made final is rolled whole, changed or not', async () => {
      const final = await runRollup(store, { nowMs: NOW + 20 * MINUTE, graceMs: 0 });
      assert.equal(final.hoursFinalized, 3);
      const rows = await store.db.selectFrom('usage_records').select('final').execute();
      assert.ok(rows.length > 0 && rows.every((r) => Number(r.final) === 1));
    });
  });
}
