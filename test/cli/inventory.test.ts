// The CLI an operator uses on a production box (issue 21, findings 6 and 8): `lbmeter clusters` and
// `lbmeter hosts` keep the inventory with the API's checks, every listing prints JSON with --json,
// `--env-file` reads the service's own configuration, and every error is one line starting
// `lbmeter: ` that names the store it could not open (its password masked).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lbmeterWith } from '../helpers/cli.ts';
import { engines } from '../helpers/engines.ts';
import { openStore } from '../../src/store/store.ts';
import { ingestSample } from '../../src/ingest/samples.ts';

const dir = mkdtempSync(join(tmpdir(), 'lbmeter-inventory-'));
const [, postgres] = await engines();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await postgres!.fixture.cleanup();
});
const store = join(dir, 'lbmeter.db');
const envFile = join(dir, 'lbmeter.env');
// As /etc/lbmeter/lbmeter.env: the CLI finds the store only through it.
writeFileSync(envFile, `# the service's settings\nLBMETER_DB="${store}"\nLBMETER_LOG_LEVEL=warn\n`);
const env = { ...process.env };
delete env.LBMETER_DB;
const lbmeter = lbmeterWith(env);
const withFile = (args: string[]) => lbmeter(['--env-file', envFile, ...args]);

test('without the service\'s settings the CLI says where to find them; with --env-file it uses them', async () => {
  const lost = await lbmeter(['hosts', 'list'], { LBMETER_DB: join(dir, 'elsewhere.db') });
  assert.equal(lost.code, 2);
  assert.match(lost.stderr, /^lbmeter: no store at .*elsewhere\.db: check LBMETER_DB \(on a server: lbmeter --env-file \/etc\/lbmeter\/lbmeter\.env \.\.\.\), or make one with lbmeter migrate\n$/);
  const migrated = await withFile(['migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stdout, new RegExp(`store sqlite at ${store.replace(/[.]/g, '\\.')} is up to date`));
  const missing = await lbmeter(['--env-file', join(dir, 'nope.env'), 'hosts', 'list']);
  assert.notEqual(missing.code, 0);
  // Node 20 reads --env-file itself wherever it is on the command line (fixed in 22).
  assert.match(missing.stderr, /^(lbmeter: --env-file: no file .*nope\.env|\S*node: .*nope\.env: not found)\n$/);
});

test('clusters and hosts: put, list (lines and JSON, no password), remove; refusals name the option', async () => {
  const ok = async (args: string[]) => {
    const r = await withFile(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  assert.equal(await ok(['clusters', 'put', '1', '--name', 'ord-a', '--data-center', 'ORD']), 'cluster 1 ord-a (ORD)\n');
  assert.equal(await ok(['hosts', 'put', '3', '--cluster', '1', '--name', 'lb-3', '--socket', '/run/haproxy/stats.sock']), 'host 3 lb-3 in cluster 1: socket /run/haproxy/stats.sock\n');
  assert.equal(await ok(['hosts', 'put', '4', '--cluster', '1', '--name', 'lb-4', '--url', 'http://lbmeter:s3cret@10.0.0.4:8404/stats;csv']), 'host 4 lb-4 in cluster 1: stats page http://10.0.0.4:8404/stats;csv (user lbmeter)\n');
  assert.equal(await ok(['hosts', 'put', '5', '--cluster', '1', '--name', 'agent-5']), 'host 5 agent-5 in cluster 1: push (its agent sends samples)\n');

  assert.equal(await ok(['clusters', 'list']), '1\tord-a\tORD\n');
  assert.deepEqual(JSON.parse(await ok(['clusters', 'list', '--json'])), [{ id: 1, name: 'ord-a', dataCenter: 'ORD' }]);
  const lines = await ok(['hosts', 'list']);
  assert.equal(lines, [
    '3\tcluster=1\tlb-3\tsocket /run/haproxy/stats.sock\tin service',
    '4\tcluster=1\tlb-4\tstats page http://10.0.0.4:8404/stats;csv (user lbmeter)\tin service',
    '5\tcluster=1\tagent-5\tpush (its agent sends samples)\tin service',
  ].join('\n') + '\n');
  const json = await ok(['hosts', 'list', '--json']);
  assert.ok(!json.includes('s3cret') && !lines.includes('s3cret'), 'the password is never shown');
  assert.deepEqual(JSON.parse(json).map((h: any) => [h.id, h.stats]), [[3, { socket: '/run/haproxy/stats.sock' }], [4, { url: 'http://10.0.0.4:8404/stats;csv', username: 'lbmeter' }], [5, undefined]]);

  const refusals: [string[], number, RegExp][] = [
    [['hosts', 'put', '6', '--cluster', '9', '--name', 'x'], 2, /^lbmeter: --cluster: cluster 9 is not known; lbmeter clusters put 9 first\n$/],
    [['hosts', 'put', '6', '--cluster', '1', '--name', 'x', '--url', 'ftp://10.0.0.6/stats'], 2, /^lbmeter: --url: expected an http:\/\/ or https:\/\/ URL, received "ftp:\/\/10\.0\.0\.6\/stats"\n$/],
    [['hosts', 'put', '6', '--cluster', '1', '--name', 'x', '--url', 'http://a/', '--socket', '/s'], 2, /^lbmeter: option '--socket <path>' cannot be used with option '--url <url>'\n$/],
    [['hosts', 'put', 'six', '--cluster', '1', '--name', 'x'], 2, /^lbmeter: command-argument value 'six' is invalid for argument 'id'\. expected a positive whole number\n$/],
    [['clusters', 'put', '2', '--name', 'x', '--data-center', 'O R D'], 2, /^lbmeter: --data-center: expected letters, digits, _ or - \(at most 32\), got "O R D"\n$/],
    [['clusters', 'remove', '1'], 2, /^lbmeter: cluster 1 has 3 hosts in service and 0 load balancers: retire the hosts \(lbmeter hosts remove\) first/],
    [['hosts', 'remove', '99'], 1, /^lbmeter: no host 99 in service\n$/],
  ];
  for (const [args, code, message] of refusals) {
    const r = await withFile(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }

  for (const id of ['3', '4', '5']) await ok(['hosts', 'remove', id]);
  assert.equal(await ok(['hosts', 'list']), '');
  assert.match(await ok(['hosts', 'list', '--all']), /^3\tcluster=1\tlb-3\tsocket \/run\/haproxy\/stats\.sock\tretired \d{4}-/);
  assert.equal(await ok(['clusters', 'remove', '1']), 'cluster 1 removed\n');
  assert.equal(await ok(['clusters', 'list', '--json']), '[]\n');
});

test('--json on every listing: anomalies (exact bytes), tokens (never a value), dead letters, polls', async () => {
  const db = await openStore(store);
  try {
    // A reading above a 1 kB ceiling: one anomaly holding 2^60 bytes.
    const sample = (timeMs: number, bytesIn: bigint) => ingestSample(db, {
      hostId: 7, timeMs, process: { pid: 1, startMs: 0 },
      loadBalancers: [{ accountId: 1, loadBalancerId: 1, bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 }],
    }, { deltaCeiling: 1000n, nowMs: timeMs });
    await sample(Date.UTC(2026, 10, 1, 10), 10n);
    await sample(Date.UTC(2026, 10, 1, 10, 5), 10n + 2n ** 60n);
  } finally {
    await db.close();
  }
  const anomalies = await withFile(['anomalies', 'list', '--json']);
  assert.equal(anomalies.code, 0, anomalies.stderr);
  assert.match(anomalies.stdout, /"bytesIn":1152921504606846976\b/, 'an exact integer, not a rounded double');
  assert.equal(JSON.parse(anomalies.stdout)[0].kind, 'DELTA_ABOVE_CEILING');

  const created = await withFile(['token', 'create', '--role', 'support', '--label', 'ops']);
  const tokens = await withFile(['token', 'list', '--json']);
  assert.deepEqual(JSON.parse(tokens.stdout).map((t: any) => [t.state, t.roles, t.label]), [['active', ['support'], 'ops']]);
  assert.ok(!tokens.stdout.includes(created.stdout.trim()), 'never the token itself');

  assert.equal((await withFile(['export', 'dead-letters', '--json'])).stdout, '[]\n');
  const polled = await withFile(['poll', '--json']);
  assert.equal(polled.code, 0, polled.stderr);
  assert.equal(polled.stdout, '[]\n', 'no host with a stats source');
});

test('a store that cannot be opened is named, its password masked', async () => {
  const r = await lbmeter(['token', 'list'], { LBMETER_DB: 'postgres://lbmeter:hunter2@127.0.0.1:1/lbmeter' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^lbmeter: the store at postgres:\/\/lbmeter:\*\*\*@127\.0\.0\.1:1\/lbmeter is not usable: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
});

test('PostgreSQL through its local socket, the form docs/operations.md gives (Debian\'s pg_hba asks a password over TCP)', { skip: postgres!.skip }, async () => {
  const tcp = new URL(await postgres!.fixture.create());
  const socketUrl = `postgres://${tcp.username}@${tcp.pathname}?host=/var/run/postgresql`;
  const r = await lbmeter(['migrate'], { LBMETER_DB: socketUrl });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^applied 001_initial, .*: store postgres at postgres is up to date\n$/);
  const listed = await lbmeter(['clusters', 'list', '--json'], { LBMETER_DB: socketUrl });
  assert.equal(listed.stdout, '[]\n');
});
