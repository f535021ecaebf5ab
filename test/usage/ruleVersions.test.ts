// Billing rule versions (issue 21, finding 2): an upgrade changed how records were computed and
// nothing said so; hours already exported kept the old rule, re-rolled ones took the new one with
// no revision. Each record now carries the rule version that made it (the audit and the export
// show it), and a correction that re-rolls a record billing has seen under another rule is a new
// revision even when the figures are the same.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachStore, heldAboveCeiling } from '../helpers/storeSuite.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { runExport } from '../../src/jobs/export.ts';
import { rerollLoadBalancer } from '../../src/usage/hourRollup.ts';
import { recordSources } from '../../src/query/recordSources.ts';
import { usageEvent, usageEventId } from '../../src/export/cloudEvents.ts';
import { BILLING_RULES, BILLING_RULE_VERSION } from '../../src/domain/billingRules.ts';
import type { BillingSink } from '../../src/export/sink.ts';
import type { ExportableRecord } from '../../src/store/exports.ts';

const HOUR = 3_600_000;
const h0 = Date.UTC(2026, 10, 3, 10);
const now = h0 + 3 * HOUR;

test('the rule versions are listed in order, each with what it changed, and the CHANGELOG has a heading for each change', async () => {
  assert.deepEqual(BILLING_RULES.map((r) => r.version), BILLING_RULES.map((_, i) => i));
  assert.equal(BILLING_RULE_VERSION, BILLING_RULES.length - 1);
  for (const rule of BILLING_RULES) assert.ok(rule.summary.length > 20 && rule.since, `rule ${rule.version} says what it is`);
  const { readFileSync } = await import('node:fs');
  const changelog = readFileSync(new URL('../../CHANGELOG.md', import.meta.url), 'utf8');
  for (const rule of BILLING_RULES.slice(1)) assert.match(changelog, new RegExp(`^#### Billing rule ${rule.version}\\b`, 'm'), `rule ${rule.version} in the CHANGELOG`);
});

forEachStore('billing rule versions', (store) => {
  const offered: ExportableRecord[] = [];
  const sink: BillingSink = {
    description: 'recording sink',
    async deliver(records) {
      offered.push(...records);
      return { ok: true, duplicate: false };
    },
  };
  const exportAll = () => runExport(store(), sink, { batchSize: 100, maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, nowMs: () => now });
  /** Load balancer 30's record of its first hour (it has one an hour until `now`). */
  const record30 = () => store().db.selectFrom('usage_records').selectAll().where('load_balancer_id', '=', 30).where('hour_ms', '=', h0).executeTakeFirstOrThrow();

  test('a record carries the rule that made it; the audit and the export say which', async () => {
    await heldAboveCeiling(store(), h0);
    await runRollup(store(), { nowMs: now, graceMs: 0 });
    const record = await record30();
    assert.equal(Number(record.rule_version), BILLING_RULE_VERSION);
    const audit = await recordSources(store().db, 30, Number(record.id));
    assert.equal(audit!.record.ruleVersion, BILLING_RULE_VERSION);
    await exportAll();
    assert.equal(offered.length, 3, 'its three hours');
    for (const r of offered) assert.equal(usageEvent(r, '/lbmeter/usage').data.ruleVersion, BILLING_RULE_VERSION);
  });

  test('re-rolled under the same rule with the same facts: no revision', async () => {
    const { revised } = await store().transaction((trx) => rerollLoadBalancer(trx, 30, [h0], now));
    assert.equal(revised, 0);
    assert.equal(Number((await record30()).revision), 0);
  });

  test('an exported record made by an earlier rule, re-rolled by a correction: a new revision under this rule, the same figures', async () => {
    // As a store upgraded from before rule versions holds it (migration 014 gave it 0).
    await store().db.updateTable('usage_records').set({ rule_version: 0 }).where('load_balancer_id', '=', 30).where('hour_ms', '=', h0).execute();
    const before = await record30();
    const { revised } = await store().transaction((trx) => rerollLoadBalancer(trx, 30, [h0], now));
    assert.equal(revised, 1, 'the change of rule is a revision');
    const after = await record30();
    assert.deepEqual([Number(after.revision), Number(after.rule_version), after.exported_ms], [1, BILLING_RULE_VERSION, null]);
    assert.deepEqual([after.bytes_in, after.num_polls, after.vip_type].map(String), [before.bytes_in, before.num_polls, before.vip_type].map(String));
    await exportAll();
    assert.equal(offered.length, 4, 'billing hears of it');
    const event = usageEvent(offered[3]!, '/lbmeter/usage');
    assert.notEqual(event.id, usageEventId({ ...offered[3]!, revision: 0 }), 'a new event id: the receiver takes it as an amendment');
    assert.deepEqual([event.data.revision, event.data.ruleVersion], [1, BILLING_RULE_VERSION]);
  });
});
