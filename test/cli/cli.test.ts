// The lbmeter command as an operator runs it: real processes, real store.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import { SETTINGS } from '../../src/config.ts';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStore } from '../../src/store/store.ts';
import { createToken } from '../../src/store/tokens.ts';
import { newRollStamp, replaceHourRecords } from '../../src/store/usageRecords.ts';
import { BIN, lbmeterWith } from '../helpers/cli.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'lbmeter-cli-'));
const env = { ...process.env, LBMETER_DB: join(dir, 'cli.db'), LBMETER_PORT: '0' };
after(() => rmSync(dir, { recursive: true, force: true }));

const lbmeter = lbmeterWith(env);

test('only migrate makes a store: another command on a missing one is one line, exit code 2, and leaves no file', async () => {
  const missing = join(dir, 'elsewhere', 'none.db');
  for (const args of [['token', 'create', '--role', 'support'], ['anomalies', 'list'], ['backup', join(dir, 'b.db')], ['rollup']]) {
    const r = await lbmeter(args, { LBMETER_DB: missing });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `lbmeter: no store at ${missing}: check LBMETER_DB (on a server: lbmeter --env-file /etc/lbmeter/lbmeter.env ...), or make one with lbmeter migrate\n`);
    assert.equal(existsSync(missing), false);
  }
  assert.match((await lbmeter(['migrate'])).stdout, /up to date/);
});

test('token create prints the token alone; list shows it without its value; revoke ends it', async () => {
  const created = await lbmeter(['token', 'create', '--role', 'support', 'billing', '--label', 'ops']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^lbm_[A-Za-z0-9_-]{43}\n$/);
  const tenant = await lbmeter(['token', 'create', '--account', '406271', '--expires', '2030-01-01']);
  assert.equal(tenant.code, 0, tenant.stderr);
  const list = await lbmeter(['token', 'list']);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^1\tactive\troles=support,billing\tops$/m);
  assert.match(list.stdout, /^2\tactive\taccount=406271 expires=2030-01-01T00:00:00.000Z\t$/m);
  assert.ok(!list.stdout.includes(created.stdout.trim()), 'token values are never listed');
  assert.equal((await lbmeter(['token', 'revoke', '1'])).code, 0);
  assert.match((await lbmeter(['token', 'list'])).stdout, /^1\trevoked/m);
});

test('bad arguments: one clear line on stderr, exit code 2', async () => {
  for (const [args, says] of [
    [['token', 'create', '--role', 'root'], 'root'],
    [['token', 'create'], 'give --role'],
    [['token', 'create', '--role', 'support', '--account', '5'], 'not both'],
    [['token', 'create', '--account', 'abc'], 'positive whole number'],
    [['token', 'create', '--role', 'billing', '--expires', '2026-02-30'], 'not a calendar date'],
    [['token', 'create', '--role', 'billing', '--expires', '2020-01-01'], '--expires 2020-01-01T00:00:00.000Z is in the past'],
    [['token', 'revoke', '999'], 'no active token'],
    [['poll', '--pre-reload', 'abc'], 'positive whole number'],
    [['poll', '--host', '0'], 'positive whole number'],
    [['poll', '--pre-reload', '42'], 'no host with a stats source: 42'],
    [['anomalies', 'release', 'abc'], 'positive whole number'],
    [['anomalies', 'list', '--status', 'GONE'], 'GONE'],
    [['export'], 'no billing sink: set LBMETER_EXPORT_URL'],
    [['export', 'replay'], 'give records (LOADBALANCER/ID) or --all'],
    [['export', 'replay', 'abc'], 'expected LOADBALANCER/ID'],
    [['export', 'replay', '33/x'], 'positive whole number'],
    [['audit', 'record', '1042'], 'expected LOADBALANCER/ID'],
    [['audit', 'record', '0/5'], 'positive whole number'],
    [['report', 'usage', '--from', '2026-10-01', '--to', '2026-10-02'], "required option '--account <id>'"],
    [['report', 'usage', '--account', 'x', '--from', '2026-10-01', '--to', '2026-10-02'], 'positive whole number'],
    [['report', 'usage', '--account', '8', '--from', '2026-13-01', '--to', '2026-10-02'], '2026-13-01'],
    [['report', 'usage', '--account', '8', '--from', '2026-10-03', '--to', '2026-10-02'], '--from must not be after --to'],
    [['report', 'usage', '--account', '8', '--from', '2026-10-01', '--to', '2026-10-02', '--format', 'xml'], 'xml'],
    [['frobnicate'], 'unknown command'],
  ] as [string[], string][]) {
    const r = await lbmeter(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.ok(r.stderr.includes(says), `${args.join(' ')} should say "${says}": ${r.stderr}`);
  }
});

test('a bad configuration value is one line naming the variable', async () => {
  const r = await lbmeter(['migrate'], { LBMETER_TIMEZONE: 'Mars/Olympus' });
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^lbmeter: LBMETER_TIMEZONE: expected an IANA zone name/);
  const p = await lbmeter(['migrate'], { LBMETER_PORT: 'eighty' });
  assert.match(p.stderr.trim(), /^lbmeter: LBMETER_PORT: expected a whole number from 0 to 65535, got "eighty"$/);
  for (const growth of ['lots', '301', '-1', '2e1']) {
    const g = await lbmeter(['migrate'], { LBMETER_HEAP_GROWTH: growth });
    assert.equal(g.code, 2);
    assert.equal(g.stderr.trim(), `lbmeter: LBMETER_HEAP_GROWTH: expected a whole number from 0 to 300, got "${growth}"`);
  }
  const f = await lbmeter(['migrate'], { LBMETER_EXPORT_FORMAT: 'stripe' });
  assert.equal(f.stderr, 'lbmeter: LBMETER_EXPORT_FORMAT: expected one of cloudevents, openmeter, lago, got "stripe"\n');
  for (const template of ['lb-{account}', 'no-placeholder', '{accountId}-{region}']) {
    const t = await lbmeter(['migrate'], { LBMETER_LAGO_SUBSCRIPTION: template });
    assert.equal(t.code, 2);
    assert.match(t.stderr, /^lbmeter: LBMETER_LAGO_SUBSCRIPTION: expected a template with \{accountId\} \(and optionally \{loadBalancerId\}\), got /);
  }
  for (const command of [['migrate'], ['serve']]) {
    const l = await lbmeter(command, { LBMETER_LOG_LEVEL: 'verbose' });
    assert.equal(l.code, 2, `${command}: ${l.stderr}`);
    assert.equal(l.stderr, 'lbmeter: LBMETER_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n');
  }
});

test('LBMETER_DB is a file path or a PostgreSQL URL; any other scheme is refused, never made a SQLite file', async () => {
  for (const db of ['mysql://root@db/lbmeter', 'pg://127.0.0.1/test', 'sqlite:///tmp/x.db', 'POSTGRES://127.0.0.1/test']) {
    const r = await lbmeter(['token', 'list'], { LBMETER_DB: db });
    assert.equal(r.code, 2, `${db}: ${r.stderr}`);
    assert.match(r.stderr.trim(), /^lbmeter: LBMETER_DB: expected (a file path or a postgres:\/\/ or postgresql:\/\/ URL|a URL starting postgres:\/\/)/, db);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('--version prints the package version and the commit it runs from (issue 21: two builds of 0.1.0 looked the same)', async () => {
  const r = await lbmeter(['--version']);
  assert.equal(r.code, 0);
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  // Outside a git checkout (a copied tree) the commit is unknown, and says so.
  let head = 'unknown';
  try {
    head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a checkout
  }
  assert.match(r.stdout, new RegExp(`^${version.replace(/\./g, '\\.')} \\(commit ${head}(-dirty)?\\)\n$`));
});

test('a mistyped LBMETER_ variable is warned about with the nearest name, once; test variables are not', async () => {
  const r = await lbmeter(['migrate'], { LBMETER_DB: join(dir, 'warned.db'), LBMETER_PORTT: '9000', LBMETER_EXPORT_ULR: 'http://x', LBMETER_NONSENSE_THING: '1', LBMETER_TEST_POSTGRES: 'x' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, [
    'lbmeter: warning: LBMETER_EXPORT_ULR is not a setting of lbmeter (did you mean LBMETER_EXPORT_URL?); it is ignored',
    'lbmeter: warning: LBMETER_NONSENSE_THING is not a setting of lbmeter; it is ignored',
    'lbmeter: warning: LBMETER_PORTT is not a setting of lbmeter (did you mean LBMETER_PORT?); it is ignored',
  ].join('\n') + '\n');
});

test('every LBMETER_ setting the code reads is in docs/configuration.md, and the other way round', () => {
  const readme = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `(LBMETER_[A-Z_]+)`(?:, `(LBMETER_[A-Z_]+)`)? \|/gm)].flatMap((m) => [m[1]!, m[2]].filter(Boolean) as string[]));
  const read = SETTINGS.filter((s) => s !== 'LBMETER_SERVE_FLAGS');
  assert.deepEqual(read.filter((s) => !documented.has(s)), [], 'read but not documented');
  assert.deepEqual([...documented].filter((s) => !(SETTINGS as readonly string[]).includes(s)), [], 'documented but not read');
});

test('every command has a description and examples in its --help', () => {
  const leaves = (cmd: Command, path: string[]): [Command, string][] =>
    cmd.commands.length ? cmd.commands.flatMap((c) => leaves(c, [...path, c.name()])) : [[cmd, path.join(' ')]];
  const all = leaves(buildProgram(), []);
  assert.ok(all.length >= 15, `${all.length} commands`);
  for (const [cmd, path] of all) {
    let out = '';
    cmd.configureOutput({ writeOut: (text) => (out += text) });
    cmd.outputHelp();
    assert.match(out, new RegExp(`Usage: lbmeter ${path}`), path);
    assert.ok(cmd.description(), `${path} has a description`);
    assert.match(out, new RegExp(`Examples:\\n  (\\S+=\\S+ )?lbmeter ${path.replace(' run', '')}`), `${path} shows an example of itself`);
  }
});

test('report usage: a table for people, CSV and JSON for scripts, exact bytes', async () => {
  // A store of its own: these final records must not reach the export test's receiver.
  const own = { LBMETER_DB: join(dir, 'report.db') };
  const store = await openStore(own.LBMETER_DB);
  const hour = Date.parse('2026-10-01T10:00:00Z');
  await store.db.insertInto('load_balancers').values({ id: 81, account_id: 8, name: 'shop, "main"', protocol: 'HTTP', cluster_id: 1, status: 'ACTIVE', ssl_mode: 'OFF', created_ms: hour, updated_ms: hour }).execute();
  const big = 2n ** 62n + 7n;
  await replaceHourRecords(store.db, hour, [81, 81, 82].map((lb, i) => ({
    accountId: 8, loadBalancerId: lb, hourMs: hour, startMs: hour + i * 60_000, endMs: hour + 3_600_000, closing: false, bytesIn: lb === 81 ? big : 5n, bytesOut: 20n,
    bytesInSsl: 1n, bytesOutSsl: 2n, averageNumConnections: 0, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType: 'PUBLIC' as const, sslMode: 'OFF' as const,
  })), { final: true, stamp: newRollStamp() });
  await store.close();
  const window = ['--account', '8', '--from', '2026-10-01', '--to', '2026-10-02'];

  const table = await lbmeter(['report', 'usage', ...window], own);
  assert.deepEqual([table.code, table.stderr], [0, '']);
  assert.deepEqual(table.stdout.split('\n').slice(0, 5), [
    'usage of account 8, records starting 2026-10-01T00:00:00Z to 2026-10-02T00:00:00Z',
    '',
    'load balancer  name          records             bytes in  bytes out  SSL bytes in  SSL bytes out',
    `           81  shop, "main"        2  ${2n * big}         40             2              4`,
    '           82                      1                    5         20             1              2',
  ]);

  const csv = await lbmeter(['report', 'usage', ...window, '--format', 'csv'], own);
  assert.equal(csv.stdout, `loadBalancerId,name,records,incomingTransfer,outgoingTransfer,incomingTransferSsl,outgoingTransferSsl\n81,"shop, ""main""",2,${2n * big},40,2,4\n82,,1,5,20,1,2\n`);

  const json = await lbmeter(['report', 'usage', ...window, '--format', 'json'], own);
  assert.match(json.stdout, new RegExp(`"incomingTransfer": ${2n * big},`), 'exact beyond 2^53');
  assert.deepEqual(JSON.parse(json.stdout).loadBalancers.map((r: { loadBalancerId: number; records: number }) => [r.loadBalancerId, r.records]), [[81, 2], [82, 1]]);

  const empty = await lbmeter(['report', 'usage', '--account', '9', '--from', '2026-10-01', '--to', '2026-10-02', '--format', 'csv'], own);
  assert.equal(empty.stdout.split('\n').length, 2, 'a header alone');
});

test('--help from the real command: exit code 0, every command listed', async () => {
  const top = await lbmeter(['--help']);
  assert.equal(top.code, 0);
  for (const name of ['serve', 'migrate', 'poll', 'rollup', 'purge', 'export', 'report', 'anomalies', 'token']) assert.match(top.stdout, new RegExp(`\\n  ${name}\\b`), name);
  const poll = await lbmeter(['poll', '--help']);
  assert.equal(poll.code, 0);
  assert.match(poll.stdout, /lbmeter poll --pre-reload 3 && systemctl reload haproxy/);
});

test('anomalies: an empty list, and a decision on an unknown one is one line with exit code 1', async () => {
  assert.deepEqual(await lbmeter(['anomalies', 'list', '--status', 'ALL']), { code: 0, stdout: '', stderr: '' });
  const r = await lbmeter(['anomalies', 'discard', '12']);
  assert.deepEqual([r.code, r.stderr], [1, 'lbmeter: no anomaly 12\n']);
});

test('export, piped: delivers the final records, prints one summary line and no progress line', async () => {
  const store = await openStore(env.LBMETER_DB);
  const hour = Date.parse('2026-11-01T10:00:00Z');
  const drafts = [1, 2, 3].map((lb) => ({
    accountId: 4, loadBalancerId: lb, hourMs: hour, startMs: hour, endMs: hour + 3_600_000, closing: false, bytesIn: 10n, bytesOut: 20n,
    bytesInSsl: 0n, bytesOutSsl: 0n, averageNumConnections: 0, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType: 'PUBLIC' as const, sslMode: 'OFF' as const,
  }));
  await replaceHourRecords(store.db, hour, drafts, { final: true, stamp: newRollStamp(), loadBalancerIds: [1, 2, 3] });
  await store.close();
  const received: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => { received.push(...JSON.parse(body).map((e: { id: string }) => e.id)); res.writeHead(202).end(); });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const r = await lbmeter(['export'], { LBMETER_EXPORT_URL: url });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'exported 3 records, 0 the sink had already; 0 failed, 0 now dead letters\n', '']);
    assert.equal(new Set(received).size, 3);
    assert.deepEqual(await lbmeter(['export', 'dead-letters']), { code: 0, stdout: '', stderr: '' });
    const refused = await lbmeter(['export'], { LBMETER_EXPORT_URL: 'ftp://billing' });
    assert.match(refused.stderr, /^lbmeter: LBMETER_EXPORT_URL: expected an http\(s\) URL/);
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});

test('migrate, rollup and purge run against the same store as serve', async () => {
  assert.match((await lbmeter(['migrate'])).stdout, /up to date/);
  assert.match((await lbmeter(['rollup'])).stdout, /^rolled \d+ hours/);
  assert.equal((await lbmeter(['purge'])).stdout, 'purged 0 usage records, 0 account snapshots and 0 samples (usage older than 90 days is purged, exported or not: no billing sink is configured (LBMETER_EXPORT_URL))\n');
  const sunk = await lbmeter(['purge'], { LBMETER_EXPORT_URL: 'http://127.0.0.1:9/events', LBMETER_RETENTION_DAYS: '400' });
  assert.match(sunk.stdout, /\(usage older than 400 days is purged once exported to the billing sink; an unexported record is kept\)\n$/);
});

test('serve prints where the API is and a first token, answers with it, logs request ids but never a token, and stops on SIGTERM', async () => {
  const fresh = join(dir, 'serve.db');
  const child = spawn(process.execPath, [BIN, 'serve', '--no-jobs'], { env: { ...env, LBMETER_DB: fresh, LBMETER_LOG_LEVEL: 'info' } });
  let out = '';
  let logs = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (logs += d));
  let token = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
      child.stdout.on('data', () => { if (/management token/.test(out)) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const url = /API on (http:\/\/\S+)/.exec(out)![1];
    token = /management token \(all roles, shown once\): (\S+)/.exec(out)![1]!;
    const res = await fetch(`${url}/management/clusters?note=${token}`, { headers: { 'x-auth-token': token, 'x-request-id': 'trace-42' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'trace-42');
    assert.deepEqual(await res.json(), { clusters: [] });
    assert.equal((await fetch(`${url}/management/clusters`, { headers: { 'x-auth-token': `${token}x` } })).status, 401);
  } finally {
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'a clean stop on SIGTERM');
  }
  const lines = logs.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.reqId === 'trace-42' && l.res?.statusCode === 200), 'the request is logged with its id');
  assert.ok(token && !logs.includes(token), 'no token in the logs, not even from a query string');
});

test('a reader that stops early ends the output quietly: no EPIPE trace, exit code 0', async () => {
  // Enough tokens that the list outlives the pipe's buffer once head has gone.
  const store = await openStore(env.LBMETER_DB, { migrate: false });
  try {
    for (let i = 0; i < 3000; i++) await createToken(store.db, { roles: ['billing'], label: `bulk ${i} ${'x'.repeat(60)}` });
  } finally {
    await store.close();
  }
  const { stdout, stderr } = await run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" token list | head -n 2; echo "status \${PIPESTATUS[0]}" >&2`], { env });
  assert.equal(stdout.split('\n').filter(Boolean).length, 2);
  assert.equal(stderr.trim(), 'status 0', 'nothing but the status on stderr');
});

test('serve on a taken port or an unusable store: one line, a non-zero exit, nothing left running', async () => {
  const taken = http.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const port = (taken.address() as AddressInfo).port;
    const started = Date.now();
    const r = await lbmeter(['serve'], { LBMETER_PORT: String(port) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lbmeter: cannot listen on 127.0.0.1:${port} (LBMETER_HOST, LBMETER_PORT): the address is in use\n`);
    assert.equal(r.stdout, '', 'no welcome, no token printed');
    assert.ok(Date.now() - started < 20_000, 'it exits by itself: no poller or job keeps it alive');
  } finally {
    await new Promise((r) => taken.close(r));
  }
  const pg = await lbmeter(['serve'], { LBMETER_DB: 'postgres://lbmeter:s3cret@127.0.0.1:1/lbmeter' });
  assert.equal(pg.code, 1);
  assert.match(pg.stderr, /^lbmeter: the store at postgres:\/\/lbmeter:\*\*\*@127\.0\.0\.1:1\/lbmeter is not usable: .*ECONNREFUSED.*\n$/);
  assert.ok(!pg.stderr.includes('s3cret'), 'never the password');
  const dirAsFile = await lbmeter(['serve'], { LBMETER_DB: dir });
  assert.equal(dirAsFile.code, 1);
  assert.match(dirAsFile.stderr, new RegExp(`^lbmeter: the store at ${dir.replace(/[.]/g, '\\.')} is not usable: .+\n$`));
});
