// Retention keeps what a held anomaly needs (SPEC 5, Containment): an anomaly older than the
// retention period can still be released, its reading and its hour's record still there; once
// decided, retention takes them like anything else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachStore, heldAboveCeiling } from '../helpers/storeSuite.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { purgeExpired } from '../../src/jobs/retention.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { releaseAnomaly } from '../../src/usage/corrections.ts';
import { DAY_MS } from '../../src/domain/time.ts';

const H = Date.UTC(2026, 10, 21, 10);
const NOW = H + 3 * DAY_MS;

forEachStore('retention and held anomalies', (store) => {
  test('a held anomaly past the retention period keeps its reading and record until it is decided', async () => {
    await heldAboveCeiling(store(), H);
    await runRollup(store(), { nowMs: NOW, graceMs: 0 });
    const [held] = await listAnomalies(store().db, { status: 'HELD' });

    // Two days kept: the hour of the anomaly is three days old.
    const purged = await purgeExpired(store(), NOW - 2 * DAY_MS, { exportSink: false });
    assert.deepEqual([purged.records, purged.samples], [0, 0], 'its hour on and its host\'s readings are kept for it');
    const decided = await releaseAnomaly(store(), held!.id, NOW);
    assert.equal(decided.revised, 1);
    const record = await store().db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', 30).where('hour_ms', '=', H).executeTakeFirstOrThrow();
    assert.equal(Number(record.bytes_in), 5400, 'the released bytes are billed in their hour');

    // Decided: retention takes the hour now.
    await purgeExpired(store(), NOW - 2 * DAY_MS, { exportSink: false });
    assert.equal((await store().db.selectFrom('usage_records').select('id').where('hour_ms', '=', H).execute()).length, 0);
  });
});
