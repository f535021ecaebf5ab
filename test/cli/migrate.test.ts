// `lbmeter migrate` says what it applied; a store a newer lbmeter migrated is refused by every
// command and by serve, with both sides named, never "corrupted migrations" (issue 21).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { lbmeterWith } from '../helpers/cli.ts';
import { openStore } from '../../src/store/store.ts';
import { VERSION, buildCommit } from '../../src/version.ts';

const [sqlite] = await engines();
after(() => sqlite!.fixture.cleanup());

test('migrate lists what it applied, then nothing; a store from a newer lbmeter is refused by name', async () => {
  const location = await sqlite!.fixture.create();
  const lbmeter = lbmeterWith({ ...process.env, LBMETER_DB: location, LBMETER_PORT: '0' });
  const first = await lbmeter(['migrate']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^applied 001_initial, 002_leases, .*, 018_reading_read_stamps: store sqlite at .* is up to date\n$/);
  assert.match((await lbmeter(['migrate'])).stdout, /is up to date: nothing to apply\n$/);

  // A newer lbmeter ran a migration this one does not know.
  const store = await openStore(location, { migrate: false });
  // This lbmeter named itself when it migrated the store.
  const migrators = await store.db.selectFrom('store_migrators').select('version').execute();
  assert.deepEqual(migrators.map((m) => m.version), [`${VERSION} (commit ${buildCommit()})`]);
  await store.db.insertInto('kysely_migration' as any).values({ name: '999_from_a_newer_lbmeter', timestamp: new Date().toISOString() } as any).execute();
  await store.db.insertInto('store_migrators').values({ version: '9.9.9 (commit 0123456789ab)', migrated_ms: Date.now() + 1000 }).execute();
  await store.close();
  const refused = new RegExp(`this store was migrated by lbmeter 9\\.9\\.9 \\(commit 0123456789ab\\) \\(it has run 999_from_a_newer_lbmeter\\); this is lbmeter ${VERSION.replace(/\./g, '\\.')} \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\), which knows up to 018_reading_read_stamps`);
  for (const args of [['migrate'], ['token', 'list'], ['serve', '--no-poller', '--no-jobs']]) {
    const r = await lbmeter(args);
    assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, refused, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});
