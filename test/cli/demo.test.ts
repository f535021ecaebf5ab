// `serve --demo` restarted on its own store resumes: no anomaly, the hours before the restart
// billed as they were, and the readings after it within the demo's own rates (its hosts restart
// their processes, so each counts from zero again). On a store holding anything else, the demo
// refuses to start, one line, and writes nothing.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.ts';
import { floorHour } from '../../src/domain/time.ts';
import { BIN } from '../helpers/cli.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'lbmeter-demo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function serveDemoOnce(db: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'serve', '--demo'], { env: { ...process.env, LBMETER_DB: db, LBMETER_PORT: '0', LBMETER_LOG_LEVEL: 'warn' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --demo did not start: ${out}${err}`)), 90_000);
    child.stdout.on('data', () => { if (/dashboard:/.test(out)) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => reject(new Error(`serve --demo exited ${code}: ${err}`)));
  });
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
}

/** What the store says: records of every hour (as text), anomalies, and each reading's delta by run. */
async function snapshot(db: string) {
  const store = await openStore(db, { migrate: false });
  try {
    const records = await store.db.selectFrom('usage_records').select(['load_balancer_id', 'start_ms', 'end_ms', 'bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl', 'num_polls'])
      .orderBy('load_balancer_id').orderBy('start_ms').execute();
    const anomalies = await store.db.selectFrom('anomalies').select(['kind', 'detail']).execute();
    const readings = await store.db.selectFrom('usage_samples').select(['load_balancer_id', 'host_id', 'pid', 'bytes_out', 'kind']).execute();
    return { records: records.map((r) => ({ ...r, text: JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) })), anomalies, readings };
  } finally {
    await store.close();
  }
}

test('the demo restarted on its own store resumes: no anomaly, past hours unchanged, new readings within its rates', { timeout: 240_000 }, async () => {
  const db = join(dir, 'demo.db');
  await serveDemoOnce(db, 2_000);
  const before = await snapshot(db);
  assert.deepEqual(before.anomalies, []);
  const restartedAt = Date.now();
  await serveDemoOnce(db, 12_000); // two of its 10-second rounds at least
  const resumed = await snapshot(db);
  assert.deepEqual(resumed.anomalies, [], 'nothing late, stale or above the ceiling');

  // The hours before the restart's hour bill exactly what they did.
  const earlier = (s: typeof before) => s.records.filter((r) => Number(r.end_ms) <= floorHour(restartedAt)).map((r) => r.text);
  assert.ok(earlier(before).length > 1000, `six hours of history: ${earlier(before).length} records`);
  assert.deepEqual(earlier(resumed), earlier(before));

  // Each reading after the restart counts one round of the demo's traffic: no more than its
  // biggest delta before, within the demo's variation (a round's bytes vary by half either way,
  // and an SSL switch moves up to 40% between plain and SSL). A load balancer that sent nothing
  // before (suspended all along, then resumed by the demo's churn) has no rate to hold it to.
  const biggest = new Map<string, number>();
  for (const r of before.readings) {
    const key = `${r.load_balancer_id}/${r.host_id}`;
    biggest.set(key, Math.max(biggest.get(key) ?? 0, Number(r.bytes_out)));
  }
  const after = resumed.readings.filter((r) => Number(r.pid) >= 2000);
  assert.ok(after.length >= 200, `the resumed fleet is read: ${after.length} readings`);
  for (const r of after) {
    const key = `${r.load_balancer_id}/${r.host_id}`;
    if (!biggest.get(key)) continue;
    assert.ok(Number(r.bytes_out) <= 5 * biggest.get(key)!, `${key}: ${r.bytes_out} after the restart, at most ${biggest.get(key)} a round before`);
  }
  assert.equal(resumed.readings.length - before.readings.length, after.length, 'no reading of the old processes was sent again');
});

test('the demo refuses a store with other data: one line, exit code 1, nothing written', { timeout: 120_000 }, async () => {
  const db = join(dir, 'real.db');
  const env = { ...process.env, LBMETER_DB: db, LBMETER_PORT: '0' };
  await run(process.execPath, [BIN, 'migrate'], { env });
  const store = await openStore(db, { migrate: false });
  await store.db.insertInto('clusters').values({ id: 7, name: 'PROD-1', data_center: 'IAD' }).execute();
  await store.close();
  const r = await run(process.execPath, [BIN, 'serve', '--demo'], { env, timeout: 60_000 }).then(() => ({ code: 0, stdout: '', stderr: '' }), (e) => e);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `lbmeter: the store at ${db}: the store holds data that is not the demo's: serve --demo needs an empty store or one it made (LBMETER_DB=./data/demo.db, say)\n`);
  const after = await openStore(db, { migrate: false });
  try {
    assert.deepEqual((await after.db.selectFrom('clusters').select('id').execute()).map((c) => Number(c.id)), [7]);
    assert.deepEqual(await after.db.selectFrom('events').select('id').execute(), []);
  } finally {
    await after.close();
  }
});
