// The lbmeter command as an operator runs it: real processes, real store.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStore } from '../../src/store/store.ts';
import { replaceHourRecords } from '../../src/store/usageRecords.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/lbmeter.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lbmeter-cli-'));
const env = { ...process.env, LBMETER_DB: join(dir, 'cli.db'), LBMETER_PORT: '0' };
after(() => rmSync(dir, { recursive: true, force: true }));

async function lbmeter(args: string[], extraEnv: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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
    [['token', 'revoke', '999'], 'no active token'],
    [['poll', '--pre-reload', 'abc'], 'positive whole number'],
    [['poll', '--host', '0'], 'positive whole number'],
    [['poll', '--pre-reload', '42'], 'no host with a stats source: 42'],
    [['anomalies', 'release', 'abc'], 'positive whole number'],
    [['anomalies', 'list', '--status', 'GONE'], 'GONE'],
    [['export'], 'no billing sink: set LBMETER_EXPORT_URL'],
    [['export', 'replay'], 'give record ids or --all'],
    [['export', 'replay', 'abc'], 'positive whole number'],
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
});

test('--help of every command shows usage and examples', async () => {
  for (const args of [['--help'], ['serve', '--help'], ['poll', '--help'], ['export', 'replay', '--help'], ['anomalies', 'release', '--help'], ['token', 'create', '--help'], ['rollup', '--help']]) {
    const r = await lbmeter(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: lbmeter/);
  }
  assert.match((await lbmeter(['token', 'create', '--help'])).stdout, /Examples:/);
  assert.match((await lbmeter(['poll', '--help'])).stdout, /lbmeter poll --pre-reload 3 && systemctl reload haproxy/);
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
  await replaceHourRecords(store.db, hour, [1, 2, 3], drafts, true);
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
  assert.match((await lbmeter(['purge'])).stdout, /^purged 0 usage records/);
});

test('serve prints where the API is and a first token, answers with it, and stops on SIGTERM', async () => {
  const fresh = join(dir, 'serve.db');
  const child = spawn(process.execPath, [BIN, 'serve', '--no-jobs'], { env: { ...env, LBMETER_DB: fresh, LBMETER_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
      child.stdout.on('data', () => { if (/management token/.test(out)) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const url = /API on (http:\/\/\S+)/.exec(out)![1];
    const token = /management token \(all roles, shown once\): (\S+)/.exec(out)![1];
    const res = await fetch(`${url}/management/clusters`, { headers: { 'x-auth-token': token } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { clusters: [] });
  } finally {
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'a clean stop on SIGTERM');
  }
});
