// The pre-reload hook says yes only when it read the host itself (SPEC 5, issue 20): when
// another process keeps reading the host past the poll timeout, `lbmeter poll --pre-reload ID`
// exits 1, so `&& systemctl reload haproxy` does not reload without a fresh read.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { lbmeterWith } from '../helpers/cli.ts';
import { openStore } from '../../src/store/store.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { takeLease } from '../../src/store/leases.ts';

const [sqlite] = await engines();
after(() => sqlite!.fixture.cleanup());

test('poll --pre-reload exits 1 when another reader holds the host past the timeout', async () => {
  const location = await sqlite!.fixture.create();
  const store = await openStore(location);
  try {
    await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
    await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1', stats: { url: 'http://127.0.0.1:9/never-read;csv' } });
    // Another process is reading the host, and keeps at it.
    assert.ok(await takeLease(store.db, 'poll-host:1', 'another-poller', 10 * 60_000));
  } finally {
    await store.close();
  }
  const r = await lbmeterWith({ ...process.env, LBMETER_DB: location, LBMETER_POLL_TIMEOUT: '1' })(['poll', '--pre-reload', '1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^1\tlb-1\tFAILED not read: another process was still reading it after 1000 ms\t\d+ ms$/m);
});
