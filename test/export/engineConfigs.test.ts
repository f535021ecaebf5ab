// The engine configurations lbmeter ships (deploy/openmeter, deploy/lago) meter exactly the
// fields its events carry: every meter's event type and JSON path, every metric's code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OPENMETER_EVENT_TYPE, openMeterEvents } from '../../src/export/formats/openmeter.ts';
import { LAGO_METRICS, lagoEvents } from '../../src/export/formats/lago.ts';
import type { ExportableRecord } from '../../src/store/exports.ts';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
const record: ExportableRecord = {
  id: 1, accountId: 406271, loadBalancerId: 33, startMs: Date.UTC(2026, 11, 1, 10), endMs: Date.UTC(2026, 11, 1, 11), closing: false, revision: 0, voided: false, ruleVersion: 1,
  bytesIn: 10n, bytesOut: 20n, bytesInSsl: 3n, bytesOutSsl: 4n, averageNumConnections: 1, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType: 'PUBLIC', sslMode: 'MIXED',
};

test('deploy/openmeter/meters.yaml: five SUM meters of com.lbmeter.usage, each path a field of the events', () => {
  const yaml = readFileSync(`${DEPLOY}openmeter/meters.yaml`, 'utf8');
  const meters = yaml.split(/\n  - slug: /).slice(1).map((block) => ({
    slug: block.split('\n')[0]!.trim(),
    eventType: /eventType: (\S+)/.exec(block)?.[1],
    aggregation: /aggregation: (\S+)/.exec(block)?.[1],
    valueProperty: /valueProperty: \$\.(\w+)/.exec(block)?.[1],
    groupBy: [...block.matchAll(/^      \w+: \$\.(\w+)$/gm)].map((m) => m[1]!),
  }));
  assert.equal(meters.length, 5);
  const [event] = openMeterEvents([record], '/lbmeter/usage');
  for (const m of meters) {
    assert.equal(m.eventType, OPENMETER_EVENT_TYPE, m.slug);
    assert.equal(m.aggregation, 'SUM', m.slug);
    assert.equal(typeof (event!.data as any)[m.valueProperty!] === 'bigint' || typeof (event!.data as any)[m.valueProperty!] === 'number', true, `${m.slug}: $.${m.valueProperty} is a number of the event`);
    for (const g of m.groupBy) assert.equal(typeof (event!.data as any)[g], 'string', `${m.slug} groups by $.${g}`);
  }
  assert.deepEqual(meters.map((m) => m.valueProperty).sort(), ['incomingTransfer', 'incomingTransferSsl', 'loadBalancerHours', 'outgoingTransfer', 'outgoingTransferSsl']);
});

test('deploy/lago/billable-metrics.json: a sum of properties.value for every code lbmeter sends, filters on the properties it sends', () => {
  const { billable_metrics: metrics } = JSON.parse(readFileSync(`${DEPLOY}lago/billable-metrics.json`, 'utf8'));
  assert.deepEqual(metrics.map((m: any) => m.billable_metric.code).sort(), Object.keys(LAGO_METRICS).sort());
  const events = lagoEvents([record], 'sub-{accountId}');
  assert.deepEqual(events.map((e) => e.code).sort(), Object.keys(LAGO_METRICS).sort());
  for (const { billable_metric: m } of metrics) {
    assert.deepEqual([m.aggregation_type, m.field_name, m.recurring], ['sum_agg', 'value', false]);
    const event = events.find((e) => e.code === m.code)!;
    assert.equal(event.external_subscription_id, 'sub-406271');
    for (const f of m.filters) assert.ok(f.values.includes((event.properties as any)[f.key]), `${m.code}: ${f.key}`);
  }
});
