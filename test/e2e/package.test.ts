// The package as an operator installs it: `npm pack` (its prepack builds dist/), then
// `npm install -g` of the tarball into an empty prefix, which takes production dependencies
// only. `lbmeter serve` from there runs the compiled JavaScript (no src/, no TypeScript runtime
// installed), makes a fresh store, and answers /health and a usage endpoint.
//
// The pack runs in a copy of the project, so its build never replaces the dist/ that other
// tests' lbmeter processes are running from. better-sqlite3's native module comes from a local
// prebuild (prebuild-install's npm_config_better_sqlite3_local_prebuilds, as an operator without
// internet would give it) made of the one this checkout built: compiling it again took 90 s.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lbmeter-package-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack, npm install -g into an empty prefix, lbmeter serve from it: /health and usage answer', { timeout: 300_000 }, async () => {
  const project = join(dir, 'project');
  mkdirSync(project);
  for (const entry of ['package.json', 'package-lock.json', 'bin', 'src', 'scripts', 'deploy', 'docs', 'README.md', 'CHANGELOG.md', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(join(ROOT, entry), join(project, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
  // Packed from a checkout: the build records its commit for --version.
  const git = (args: string[]) => run('git', ['-c', 'user.name=lbmeter', '-c', 'user.email=ci@lbmeter.invalid', ...args], { cwd: project });
  await git(['init', '-q']);
  await git(['add', '-A']);
  await git(['commit', '-qm', 'release']);
  const commit = (await git(['rev-parse', '--short=12', 'HEAD'])).stdout.trim();
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

  const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: project, maxBuffer: 16 << 20 });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((f) => f.path);
  assert.ok(paths.includes('dist/cli/main.js') && paths.includes('bin/lbmeter.js') && paths.includes('deploy/systemd/lbmeter.service'), 'the build, the command and deploy/ are packed');
  assert.deepEqual(paths.filter((p) => p.startsWith('src/') || p.startsWith('test/') || p.endsWith('.ts')), [], 'no sources, no tests');

  const prefix = join(dir, 'prefix');
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(prebuilds);
  const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
  const sqliteVersion = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')).version;
  await run('tar', ['-czf', join(prebuilds, `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`), '-C', sqlite, 'build/Release/better_sqlite3.node']);
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, filename)], {
    maxBuffer: 16 << 20, env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds },
  });
  const installed = join(prefix, 'lib', 'node_modules', 'lbmeter');
  assert.equal(existsSync(join(installed, 'src')), false);
  const dependencies = readdirSync(join(installed, 'node_modules'));
  for (const dev of ['tsx', 'typescript', 'esbuild', 'fast-check', 'playwright-core']) assert.ok(!dependencies.includes(dev), `${dev} is not installed`);
  const lbmeter = join(prefix, 'bin', 'lbmeter');
  assert.equal((await run(lbmeter, ['--version'])).stdout, `${version} (commit ${commit})\n`, 'the version and the commit it was built from');

  const store = join(dir, 'store', 'lbmeter.db');
  const child = spawn(lbmeter, ['serve', '--no-poller'], { env: { ...process.env, LBMETER_DB: store, LBMETER_PORT: '0', LBMETER_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
      child.stdout.on('data', () => { if (/dashboard:/.test(out)) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    const url = /API on (http:\/\/\S+)/.exec(out)![1]!;
    const token = /management token \(all roles, shown once\): (\S+)/.exec(out)![1]!;
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
    const usage = await fetch(`${url}/v1.0/406271/loadbalancers/usage?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T00:00:00Z`, { headers: { 'x-auth-token': token, accept: 'application/xml' } });
    assert.equal(usage.status, 200, await usage.clone().text());
    assert.match(usage.headers.get('content-type') ?? '', /^application\/xml/);
    assert.match(await usage.text(), /<accountBilling [^>]*accountId="406271"><accountUsage\/><\/accountBilling>$/);
    assert.ok(existsSync(store), 'serve made its store');
  } finally {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'a clean stop on SIGTERM');
  }
});
