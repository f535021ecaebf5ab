// The revisions offered to billing are remembered for the additive formats (migration 015): once
// each (an offered revision never changes), with a record's earlier ones handed to the encoder,
// and gone with the record when retention purges it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachStore } from '../helpers/storeSuite.ts';
import { reviseFinalRecords } from '../../src/store/usageRecords.ts';
import { markExported, offerForExport, recordsDueForExport } from '../../src/store/exports.ts';
import { purgeExpired } from '../../src/jobs/retention.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';

const HOUR = 3_600_000;
const h0 = Date.UTC(2026, 9, 1, 10);
const draft = (bytesIn: bigint, vipType: 'PUBLIC' | 'SERVICENET' = 'PUBLIC'): UsageRecordDraft => ({
  accountId: 9, loadBalancerId: 90, hourMs: h0, startMs: h0, endMs: h0 + HOUR, closing: false, bytesIn, bytesOut: 1n, bytesInSsl: 0n, bytesOutSsl: 0n,
  averageNumConnections: 0, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType, sslMode: 'OFF',
});

forEachStore('offered revisions', (store) => {
  const offerAll = async () => offerForExport(store().db, await recordsDueForExport(store().db, h0 + 10 * HOUR, 10));
  const revisions = () => store().db.selectFrom('export_revisions').select(['revision', 'bytes_in', 'vip_type']).orderBy('revision').execute();

  test('each offered revision once; the next offer carries the earlier ones; retention takes them with the record', async () => {
    await store().transaction((trx) => reviseFinalRecords(trx, h0, [90], [draft(100n)]));
    const [first] = await offerAll();
    assert.deepEqual([first!.revision, first!.earlier], [0, undefined]);
    await offerAll(); // offered again (no answer came): the same revision, remembered once
    await store().transaction((trx) => reviseFinalRecords(trx, h0, [90], [draft(150n, 'SERVICENET')]));
    const [second] = await offerAll();
    assert.equal(second!.revision, 1);
    assert.deepEqual(second!.earlier!.map((e) => [e.revision, e.bytesIn, e.vipType]), [[0, 100n, 'PUBLIC']]);
    assert.deepEqual((await revisions()).map((r) => [Number(r.revision), Number(r.bytes_in), r.vip_type]), [[0, 100, 'PUBLIC'], [1, 150, 'SERVICENET']]);

    await markExported(store().db, [second!], h0 + 10 * HOUR);
    const purged = await purgeExpired(store(), h0 + 2 * HOUR);
    assert.equal(purged.records, 1);
    assert.deepEqual(await revisions(), [], 'gone with their record');
  });
});
