// A correction racing finalisation (SPEC 5, Corrections): an operator releases held bytes of an
// hour while the rollup is making that hour final. The release must wait for the finalisation and
// then correct the final record; it used to check "provisional", write a provisional upsert that
// the now-final record ignored, and mark the anomaly released with its bytes billed nowhere.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachStore, heldAboveCeiling } from '../helpers/storeSuite.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { rollHour, writeRolledHour } from '../../src/usage/hourRollup.ts';
import { markHour } from '../../src/store/hours.ts';
import { lockHours } from '../../src/store/dialect/index.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { releaseAnomaly } from '../../src/usage/corrections.ts';
import { HOUR_MS } from '../../src/domain/time.ts';

const H = Date.UTC(2026, 10, 21, 10);

forEachStore('a release racing the hour\'s finalisation', (store) => {
  test('the release waits for the finalisation, then corrects the final record: no byte lost', async () => {
    await heldAboveCeiling(store(), H);
    await runRollup(store(), { nowMs: H + HOUR_MS + 60_000, graceMs: 2 * HOUR_MS }); // H rolled, provisional
    const [held] = await listAnomalies(store().db, { status: 'HELD' });
    assert.equal(held!.kind, 'DELTA_ABOVE_CEILING');

    // The rollup makes H final in a transaction that has not committed yet...
    let commit!: () => void;
    const finalised = new Promise<void>((resolve) => (commit = resolve));
    let locked!: () => void;
    const hourLocked = new Promise<void>((resolve) => (locked = resolve));
    const finalising = store().transaction(async (trx) => {
      await lockHours(trx, [H], 'exclusive');
      const rolled = await rollHour(trx, H, H + HOUR_MS);
      await writeRolledHour(trx, rolled, { final: true, nowMs: H + 4 * HOUR_MS });
      await markHour(trx, H, true, H + 4 * HOUR_MS);
      locked();
      await finalised;
    });
    await hourLocked;
    // ...when the operator releases the held bytes.
    const releasing = releaseAnomaly(store(), held!.id, H + 4 * HOUR_MS);
    await new Promise((r) => setTimeout(r, 300));
    commit();
    await finalising;
    const decided = await releasing;
    assert.equal(decided.anomaly.status, 'RELEASED');
    const record = await store().db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', 30).where('hour_ms', '=', H).executeTakeFirstOrThrow();
    assert.deepEqual([Number(record.final), Number(record.bytes_in)], [1, 5400], 'the final record bills the released 5000 bytes');
  });
});
