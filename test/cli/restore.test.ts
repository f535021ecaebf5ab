// `lbmeter restore FILE` after a crash (issue 21, finding 1): `serve --demo` killed with SIGKILL
// leaves its write-ahead log beside the store; putting a copy in place the documented way let
// SQLite replay that log over the copy (`database disk image is malformed`). The restore sets the
// old store aside with its log, checks the copy before and after, and refuses while a process
// holds the store, a copy that is not a whole store, and a PostgreSQL store.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openStore } from '../../src/store/store.ts';
import { knownMigrations } from '../../src/store/migrations/index.ts';
import { BIN, lbmeterWith } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lbmeter-restore-'));
const live = join(dir, 'live.db');
const env = { ...process.env, LBMETER_DB: live, LBMETER_PORT: '0', LBMETER_LOG_LEVEL: 'silent' };
after(() => rmSync(dir, { recursive: true, force: true }));
const lbmeter = lbmeterWith(env);
const MIGRATIONS = knownMigrations();

/** `serve --demo` on the live store, started: the demo writes a round every 10 s. */
async function startDemo() {
  const child = spawn(process.execPath, [BIN, 'serve', '--demo'], { env });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --demo did not start: ${out}`)), 60_000);
    child.stdout.on('data', () => { if (/dashboard:/.test(out)) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  return child;
}

async function storeFacts(file: string) {
  const store = await openStore(file, { migrate: false });
  try {
    const integrity = (await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db)).rows;
    const records = (await store.db.selectFrom('usage_records').select(['load_balancer_id', 'id', 'bytes_in', 'final']).orderBy('load_balancer_id').orderBy('id').execute())
      .map((r) => `${r.load_balancer_id}/${r.id}: ${r.bytes_in} ${r.final}`);
    const readings = Number((await store.db.selectFrom('usage_samples').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { integrity, records, readings };
  } finally {
    await store.close();
  }
}

test('a restore after serve was killed (SIGKILL) leaves the copy whole, sets the old store aside with its log, and refuses while a process holds the store', async () => {
  const copy = join(dir, 'copy.db');
  const child = await startDemo();
  let killed = false;
  try {
    const backup = await lbmeter(['backup', '--verify', copy]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, new RegExp(`^backed up \\d+ pages to .*copy\\.db \\(\\d+ usage records\\); verified: integrity ok, ${MIGRATIONS.length} migrations up to ${MIGRATIONS.at(-1)}\\n$`));

    const busy = await lbmeter(['restore', copy]);
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr, `lbmeter: a process holds the store ${live} (serve, or another lbmeter command): stop it first (systemctl stop lbmeter)\n`);
    assert.ok(!readdirSync(dir).some((f) => f.includes('.replaced-') || f.includes('.restoring')), 'nothing moved while serve ran');

    await new Promise((r) => setTimeout(r, 12_000)); // a demo round after the backup, in the log
    child.kill('SIGKILL');
    killed = true;
    await new Promise((resolve) => child.on('exit', resolve));
  } finally {
    if (!killed) child.kill('SIGKILL');
  }
  assert.ok(statSync(`${live}-wal`).size > 0, 'the crash left a write-ahead log beside the store');

  const expected = await storeFacts(copy);
  const restored = await lbmeter(['restore', copy]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, new RegExp(`^restored .*copy\\.db to .*live\\.db: integrity ok, ${expected.records.length} usage records, ${MIGRATIONS.length} migrations .*\\nthe store that was there is kept at .*live\\.db\\.replaced-\\d{4}-\\d\\d-\\d\\dT[0-9-]+Z\\n$`));
  assert.ok(!existsSync(`${live}-wal`) || statSync(`${live}-wal`).size === 0, 'no log of the old store beside the restored one');

  const now = await storeFacts(live);
  assert.deepEqual(now.integrity, [{ integrity_check: 'ok' }]);
  assert.deepEqual(now.records, expected.records, 'the store is the backup, record for record');
  assert.equal(now.readings, expected.readings);

  // Nothing lost: the store set aside holds what was written after the backup (its log in it).
  const aside = join(dir, readdirSync(dir).find((f) => /^live\.db\.replaced-[^-]/.test(f) && !/-(wal|shm)$/.test(f))!);
  const old = await storeFacts(aside);
  assert.deepEqual(old.integrity, [{ integrity_check: 'ok' }]);
  assert.ok(old.readings > expected.readings, `the old store kept the readings after the backup: ${old.readings} > ${expected.readings}`);

  // And lbmeter runs on it again.
  const second = await startDemo();
  second.kill('SIGTERM');
  await new Promise((resolve) => second.on('exit', resolve));
  assert.deepEqual((await storeFacts(live)).integrity, [{ integrity_check: 'ok' }]);
});

test('restore refuses what is not a whole lbmeter store, with the reason, and leaves the store in place', async () => {
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, 'not a database at all '.repeat(500));
  const notLbmeter = join(dir, 'other.db');
  {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(notLbmeter);
    db.exec('create table t (x)');
    db.close();
  }
  const withLog = join(dir, 'withlog.db');
  copyFileSync(notLbmeter, withLog);
  writeFileSync(`${withLog}-wal`, 'frames');
  const before = statSync(live).mtimeMs;
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.db'), /^lbmeter: no backup at .*missing\.db\n$/],
    [garbage, /^lbmeter: .*garbage\.db fails SQLite's integrity check: file is not a database\n$/],
    [notLbmeter, /^lbmeter: .*other\.db is SQLite but not an lbmeter store \(no migrations in it\)\n$/],
    [withLog, /^lbmeter: .*withlog\.db has a write-ahead log beside it .*: it was copied from a running store; restore a copy made by lbmeter backup\n$/],
  ];
  for (const [file, message] of cases) {
    const r = await lbmeter(['restore', file]);
    assert.equal(r.code, 1, file);
    assert.match(r.stderr, message);
  }
  assert.equal(statSync(live).mtimeMs, before, 'the store in place untouched');
  assert.ok(!readdirSync(dir).some((f) => f.includes('.restoring')), 'no staging copy left');

  const pg = await lbmeter(['restore', join(dir, 'copy.db')], { LBMETER_DB: 'postgres://postgres@127.0.0.1:5432/test' });
  assert.equal(pg.code, 2);
  assert.match(pg.stderr, /^lbmeter: the store is postgres: restore it with pg_restore into an empty database, then point LBMETER_DB at it/);
});
