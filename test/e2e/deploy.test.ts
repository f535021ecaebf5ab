// The operations artefacts in deploy/ as their own tools read them: the systemd units pass
// `systemd-analyze verify` without a warning (and keep their hardening), the alert rules pass
// `promtool check rules`. (The series they query are checked against a real /metrics in
// metrics.test.ts.) Missing tools skip with the reason printed, or fail when REQUIRE_TOOLS=1 (CI).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.ts';

const run = promisify(execFile);
const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lbmeter-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function missing(tool: string, pkg: string): Promise<string | undefined> {
  try {
    await run('sh', ['-c', `command -v ${tool}`]);
    return undefined;
  } catch {
    const why = `${tool} is not installed (apt-get install ${pkg})`;
    if (process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${why}`);
    console.log(`# skipping: ${why}`);
    return why;
  }
}

async function runTool(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('the systemd units verify without a warning and keep their hardening', { skip: await missing('systemd-analyze', 'systemd') }, async () => {
  for (const [unit, as] of [['lbmeter.service', 'lbmeter.service'], ['lbmeter@.service', 'lbmeter@api.service']] as const) {
    const text = readFileSync(join(DEPLOY, 'systemd', unit), 'utf8');
    for (const line of ['User=lbmeter', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/lbmeter', 'EnvironmentFile=/etc/lbmeter/lbmeter.env', 'CapabilityBoundingSet=', 'KillSignal=SIGTERM']) {
      assert.match(text, new RegExp(`^${line.replace(/[.]/g, '\\.')}$`, 'm'), `${unit}: ${line}`);
    }
    // A reload that sends SIGTERM leaves metering stopped (a clean exit is no failure to restart
    // on); a group the node may lack fails the start.
    assert.doesNotMatch(text, /^ExecReload=/m, `${unit}: no reload that stops it`);
    assert.doesNotMatch(text, /^SupplementaryGroups=/m, `${unit}: no group a node may lack`);
    // verify wants ExecStart's program to exist: the package's is installed at /usr/bin/lbmeter.
    const file = join(dir, as);
    writeFileSync(file, text.replaceAll('/usr/bin/lbmeter', BIN));
    const r = await runTool('systemd-analyze', ['verify', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `${unit}: no warning`);
  }
  assert.match(readFileSync(join(DEPLOY, 'systemd', 'lbmeter@.service'), 'utf8'), /^ExecStart=\/usr\/bin\/lbmeter serve \$LBMETER_SERVE_FLAGS$/m);
  // The batch units' drop-ins lower their CPU priority, and verify with the template.
  for (const unit of ['poller', 'jobs']) {
    const dropIn = readFileSync(join(DEPLOY, 'systemd', `lbmeter@${unit}.service.d`, 'priority.conf'), 'utf8');
    assert.match(dropIn, /^\[Service\]\nNice=10$/m, unit);
    mkdirSync(join(dir, `lbmeter@${unit}.service.d`), { recursive: true });
    writeFileSync(join(dir, `lbmeter@${unit}.service.d`, 'priority.conf'), dropIn);
    writeFileSync(join(dir, `lbmeter@${unit}.service`), readFileSync(join(DEPLOY, 'systemd', 'lbmeter@.service'), 'utf8').replaceAll('/usr/bin/lbmeter', BIN));
    const r = await runTool('systemd-analyze', ['verify', join(dir, `lbmeter@${unit}.service`)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `lbmeter@${unit}: no warning`);
  }
});

test('the alert rules pass promtool check rules, and their tests (lbmeter-rules.test.yml) pass', { skip: await missing('promtool', 'prometheus') }, async () => {
  const r = await runTool('promtool', ['check', 'rules', join(DEPLOY, 'prometheus', 'lbmeter-rules.yml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 17 rules found/);
  // Each alert fires on time and not otherwise: host never read, polls failing 15 minutes,
  // ingest stopped, fleet traffic zero, export failing, backlog by age (only with a sink),
  // clock skew, counters cleared without a restart, a process down, no target at all.
  const tested = await runTool('promtool', ['test', 'rules', join(DEPLOY, 'prometheus', 'lbmeter-rules.test.yml')]);
  assert.equal(tested.code, 0, tested.stdout + tested.stderr);
  assert.match(tested.stdout, /SUCCESS/);
  const testFile = readFileSync(join(DEPLOY, 'prometheus', 'lbmeter-rules.test.yml'), 'utf8');
  for (const alert of ['LbmeterHostNeverRead', 'LbmeterPollFailing', 'LbmeterIngestStopped', 'LbmeterFleetTrafficZero', 'LbmeterExportFailing', 'LbmeterExportBacklog', 'LbmeterClockSkew', 'LbmeterCountersCleared', 'LbmeterDown', 'LbmeterAbsent']) {
    assert.match(testFile, new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${alert} is tested firing`);
  }
});

test('the Grafana dashboard is one JSON model whose every panel queries Prometheus with a unit', () => {
  const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'lbmeter-dashboard.json'), 'utf8'));
  assert.equal(dashboard.uid, 'lbmeter');
  assert.ok(dashboard.panels.length >= 12);
  assert.deepEqual(dashboard.templating.list.map((v: { name: string }) => v.name), ['datasource', 'job', 'instance'], 'a job and a process selector');
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0 && panel.targets.every((t: { expr?: string }) => t.expr), panel.title);
    assert.ok(panel.fieldConfig.defaults.unit, `${panel.title} has a unit`);
    // Every series a panel reads is filtered by the selectors (the process panels mixed every job).
    for (const { expr } of panel.targets) {
      for (const [, selector] of expr.matchAll(/\b(?:lbmeter|process|nodejs)_[a-z0-9_]+(\{[^}]*\})?/g)) {
        assert.match(selector ?? '', /job=~"\$job", instance=~"\$instance"/, `${panel.title}: ${expr}`);
      }
    }
  }
  const titles = dashboard.panels.map((p: { title: string }) => p.title);
  for (const title of ['Bytes metered per hour', 'Unbilled bytes held', 'Anomalies held']) assert.ok(titles.includes(title), title);
});
