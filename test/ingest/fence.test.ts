// The read lease is the fence of the reading it was taken for: a poller whose lease changed
// hands while it read stores nothing (its sample key stays free, so nothing is lost either: the
// new holder's reading counts those bytes), and one still holding it stores as usual.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { openStore } from '../../src/store/store.ts';
import { ingestSample, type HostSample } from '../../src/ingest/samples.ts';
import { releaseLease, takeLease } from '../../src/store/leases.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { leaseFence, LeaseLost } from '../../src/jobs/leases.ts';

const T = Date.UTC(2026, 10, 2, 10, 30);
const sample = (timeMs: number, bytes: bigint): HostSample => ({
  hostId: 1, timeMs, process: { pid: 7, startMs: T - 3_600_000 },
  loadBalancers: [{ accountId: 5, loadBalancerId: 50, bytesIn: bytes, bytesOut: bytes, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 1, connectionsSsl: 0 }],
});
const fenceOf = (holder: string, token: number) => leaseFence('poll-host:1', holder, token, 5_000);

for (const { fixture, skip } of await engines()) {
  describe(`read lease fence [${fixture.name}]`, { skip }, () => {
    after(() => fixture.cleanup());

    test('a reading whose lease changed hands is refused in its transaction; the holder\'s is stored', async () => {
      const store = await openStore(await fixture.create());
      try {
        await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
        await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1' });
        const now = Date.now();
        const slow = (await takeLease(store.db, 'poll-host:1', 'slow', 100, now - 1_000))!; // lapsed while it read
        const fast = (await takeLease(store.db, 'poll-host:1', 'fast', 5_000, now))!;
        await assert.rejects(ingestSample(store, sample(T, 1000n), { deltaCeiling: 10n ** 15n, fence: fenceOf('slow', slow) }), LeaseLost);
        const stored = await store.db.selectFrom('usage_samples').selectAll().execute();
        assert.equal(stored.length, 0, 'the fenced-out reading left nothing behind');

        const r = await ingestSample(store, sample(T + 60_000, 1500n), { deltaCeiling: 10n ** 15n, fence: fenceOf('fast', fast) });
        assert.equal(r.deltas, 1);
        await releaseLease(store.db, 'poll-host:1', 'fast');
        // Taken again later by the slow one: its old token still does not pass.
        await takeLease(store.db, 'poll-host:1', 'slow', 5_000);
        await assert.rejects(ingestSample(store, sample(T + 30_000, 1200n), { deltaCeiling: 10n ** 15n, fence: fenceOf('slow', slow) }), LeaseLost);
        const keys = await store.db.selectFrom('sample_keys').select('time_ms').execute();
        assert.deepEqual(keys.map((k) => Number(k.time_ms)), [T + 60_000], 'only the stored sample claimed its key');
      } finally {
        await store.close();
      }
    });
  });
}
