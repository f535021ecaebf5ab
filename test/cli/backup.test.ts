// `lbmeter backup` of the embedded store, taken while `serve --demo` writes to it: the copy opens
// as a consistent store (SQLite's integrity check) holding every record the live store had
// made final before it, field for field.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openStore } from '../../src/store/store.ts';
import { engines } from '../helpers/engines.ts';
import { BIN, lbmeterWith } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lbmeter-backup-'));
const live = join(dir, 'live.db');
const env = { ...process.env, LBMETER_DB: live, LBMETER_PORT: '0', LBMETER_LOG_LEVEL: 'silent' };
const [, postgres] = await engines();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await postgres.fixture.cleanup();
});

const lbmeter = lbmeterWith(env);

const finalRecords = (db: any) => db.selectFrom('usage_records').selectAll().where('final', '=', 1).orderBy('id').execute();

test('a backup taken while serve --demo writes opens consistent, with every final record', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--demo'], { env });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve --demo did not start: ${out}`)), 60_000);
      child.stdout.on('data', () => { if (/dashboard:/.test(out)) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    // Backups while the demo pushes a round every 10 s and the rollup closes hours.
    const copies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `copy-${i}.db`);
      const r = await lbmeter(['backup', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^backed up \\d+ pages to ${file.replace(/[.]/g, '\\.')} \\(\\d+ usage records\\)\\n$`));
      copies.push(file);
      await new Promise((r) => setTimeout(r, 4_000));
    }
    const store = await openStore(live, { migrate: false });
    try {
      // A record is named by its load balancer and its id (unique within it).
      const name = (r: any) => `${r.load_balancer_id}/${r.id}`;
      const liveRecords = new Map((await finalRecords(store.db)).map((r: any) => [name(r), JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))]));
      for (const file of copies) {
        const copy = await openStore(file, { migrate: false });
        try {
          const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(copy.db);
          assert.deepEqual(check.rows, [{ integrity_check: 'ok' }], file);
          const records = await finalRecords(copy.db);
          assert.ok(records.length > 0, `${file} holds the demo's final records`);
          for (const r of records) assert.equal(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)), liveRecords.get(name(r)), `record ${name(r)} of ${file}`);
        } finally {
          await copy.close();
        }
      }
    } finally {
      await store.close();
    }
    assert.match(out, /^retention: usage older than 90 days is purged, exported or not: no billing sink is configured \(LBMETER_EXPORT_URL\)$/m, 'serve says how it purges');
    const again = await lbmeter(['backup', copies[0]!]);
    assert.equal(again.code, 2);
    assert.equal(again.stderr, `lbmeter: ${copies[0]} exists: give a new file\n`);
  } finally {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

test('a PostgreSQL store is backed up with pg_dump: one line, exit code 2, no file', { skip: postgres.skip }, async () => {
  const location = await postgres.fixture.create();
  assert.equal((await lbmeter(['migrate'], { LBMETER_DB: location })).code, 0);
  const file = join(dir, 'pg.db');
  const r = await lbmeter(['backup', file], { LBMETER_DB: location });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'lbmeter: the store is postgres: back it up with its own tools (pg_dump; see docs/operations.md)\n');
  assert.equal(existsSync(file), false);
});
