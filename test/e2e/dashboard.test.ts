// The dashboard in a real browser (Debian's Chromium driven by playwright-core): sign in with a
// token, see the fleet, open an account, and find its chart drawn from exactly the numbers the
// API returns. Screenshots go to test-artifacts/.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';
import { startDemoFleet } from '../../src/demo/fleet.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { cluster, createLb, ok, rollup, sample } from '../helpers/fleet.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (missing && process.env.REQUIRE_BROWSER === '1') throw new Error(`REQUIRE_BROWSER=1 but ${missing}`);
if (missing) console.log(`# skipping the dashboard browser test: ${missing}`);

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function launch(): Promise<Browser> {
  // Flags as this machine needs them: no sandbox as root, no background calls to the outside.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page of a browser stopped with the test, collecting the page's own errors; the artifacts folder made. */
async function openPage(viewport: { width: number; height: number }): Promise<{ page: Page; pageErrors: string[] }> {
  const browser = await launch();
  cleanups.push(() => browser.close());
  const page = await browser.newPage({ viewport });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  mkdirSync(ARTIFACTS, { recursive: true });
  return { page, pageErrors };
}

const ready = (page: Page, path: string) => page.waitForSelector(`body[data-ready="${path}"]`, { timeout: 15_000 });

test('sign in, the fleet, an account\'s chart from the API\'s numbers', { skip: missing }, async () => {
  const [sqlite] = await engines();
  const api = await startApi(await sqlite!.fixture.create());
  cleanups.push(() => sqlite!.fixture.cleanup());
  cleanups.push(() => api.close());
  const fleet = await startDemoFleet(api.store, { loadBalancers: 40, backfillHours: 6, deltaCeiling: 2n ** 40n });
  await runRollup(api.store, { graceMs: 2 * 3_600_000 });
  const { page, pageErrors } = await openPage({ width: 1280, height: 1000 });

  await page.goto(`${api.url}/dashboard`);
  await page.fill('#login input[name=token]', 'lbm_not_a_token');
  await page.click('#login button');
  await page.waitForSelector('#login-error:has-text("not a known token")');

  await page.fill('#login input[name=token]', api.tokens.support);
  await page.click('#login button');
  await ready(page, '/');
  await page.waitForSelector('#login', { state: 'hidden' });
  const summary = await (await api.get('/management/usage/summary', { token: api.tokens.support })).json();
  const rows = await page.$$eval('#top-accounts tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(rows, summary.topAccounts.map((a: { accountId: number }) => String(a.accountId)));
  assert.equal(await page.$$eval('#hosts tbody tr', (r) => r.length), summary.hosts.length);
  await page.screenshot({ path: `${ARTIFACTS}dashboard-fleet.png`, fullPage: true });

  // Open the account; the page's own API call is the one the chart is drawn from.
  const accountId = fleet.sampleAccountId;
  const usageCall = page.waitForResponse((r) => r.url().includes(`/v1.0/${accountId}/loadbalancers/usage?`));
  await page.fill('#account-jump input', String(accountId));
  await page.click('#account-jump button');
  const response = await usageCall;
  await ready(page, `/accounts/${accountId}`);
  const body = await (await api.get(new URL(response.url()).pathname + new URL(response.url()).search, { token: api.tokens.support })).json();

  const perHour = new Map<number, { in: number; out: number }>();
  for (const u of body.loadBalancerUsages) {
    for (const r of u.loadBalancerUsageRecords) {
      const hour = Math.floor(Date.parse(r.startTime) / 3_600_000) * 3_600_000;
      const h = perHour.get(hour) ?? { in: 0, out: 0 };
      h.in += r.incomingTransfer;
      h.out += r.outgoingTransfer;
      perHour.set(hour, h);
    }
  }
  const hours = [...perHour.keys()].sort((a, b) => a - b);
  assert.ok(hours.length >= 6, `six hours of demo usage: ${hours.length}`);
  const drawn = await page.evaluate(() => {
    const c = (window as any).Chart.getChart(document.getElementById('bytes-chart'));
    return { labels: c.data.labels, sets: Object.fromEntries(c.data.datasets.map((d: any) => [d.label, d.data])) };
  });
  assert.deepEqual(drawn.labels, hours.map((h) => new Date(h).toISOString().slice(5, 16).replace('T', ' ') + 'Z'));
  assert.deepEqual(drawn.sets['bytes in'], hours.map((h) => perHour.get(h)!.in));
  assert.deepEqual(drawn.sets['bytes out'], hours.map((h) => perHour.get(h)!.out));
  assert.ok(drawn.sets['bytes in'].some((v: number) => v > 0), 'real traffic, not an empty chart');
  // Axes say what they count, bytes scaled to a unit.
  const axes = await page.evaluate(() => ['bytes-chart', 'connections-chart', 'ssl-chart'].map((id) => {
    const c = (window as any).Chart.getChart(document.getElementById(id));
    return [c.options.scales.x.title.text, c.options.scales.y.title.text, c.scales.y.ticks.map((t: any) => t.label)];
  }));
  assert.deepEqual(axes.map(([x, y]) => [x, y]), [['hour (UTC)', 'bytes'], ['hour (UTC)', 'connections'], ['hour (UTC)', 'SSL share (%)']]);
  assert.ok((axes[0]![2] as string[]).every((label) => /^\d+(\.\d)? (B|KB|MB|GB|TB|PB)$/.test(label)), `byte ticks carry units: ${axes[0]![2]}`);
  assert.ok((axes[2]![2] as string[]).every((label) => /%$/.test(label)));
  assert.equal(await page.$$eval('#load-balancers tbody tr', (r) => r.length), body.loadBalancerUsages.length);
  await page.screenshot({ path: `${ARTIFACTS}dashboard-account.png`, fullPage: true });

  // One load balancer, then signing out.
  const first = body.loadBalancerUsages[0];
  await page.click('#load-balancers tbody tr:first-child a');
  await page.waitForSelector('body[data-ready^="/accounts/"][data-ready*="/loadbalancers/"]');
  assert.ok((await page.$$eval('#records tbody tr', (r) => r.length)) > 0);
  assert.equal(await page.textContent('#view h1'), `Account ${accountId} / ${first.loadBalancerName} (${first.loadBalancerId})`, 'the load balancer\'s name in the title');

  // An account lbmeter never heard of says so, instead of empty charts.
  await page.fill('#account-jump input', '987654321');
  await page.click('#account-jump button');
  await ready(page, '/accounts/987654321');
  assert.match(await page.textContent('#unknown-account') ?? '', /No load balancer of account 987654321 is known to lbmeter: check the account id/);
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  assert.deepEqual(pageErrors, []);
});

test('the anomalies page: filter, release and discard one or many, and the API agrees; usable at 400 px', { skip: missing }, async () => {
  const [sqlite] = await engines();
  const now = Date.parse('2026-11-20T15:30:00Z');
  const api = await startApi(await sqlite!.fixture.create(), { nowMs: now, env: { LBMETER_DELTA_CEILING: '1000000' } });
  cleanups.push(() => sqlite!.fixture.cleanup());
  cleanups.push(() => api.close());
  await cluster(api, 1);
  await ok(api.send('PUT', '/management/hosts/1', { clusterId: 1, name: 'agent-1' }));
  await createLb(api, { accountId: 5, id: 50, time: '2026-11-20T10:00:00Z', name: 'web <b>front</b>' });
  // Four readings above the 1 MB ceiling (held), and another host's late for a final hour (held).
  const proc = { pid: 7, startTime: '2026-11-20T09:00:00Z' };
  for (const [minute, bytesIn] of [[10, 2_000_000], [20, 4_000_000], [30, 6_000_000], [40, 8_000_000]] as const) {
    await sample(api, 1, `2026-11-20T12:${minute}:00Z`, [{ accountId: 5, loadBalancerId: 50, bytesIn }], proc);
  }
  await rollup(api);
  await ok(api.send('PUT', '/management/hosts/2', { clusterId: 1, name: 'agent-2' }));
  await sample(api, 2, '2026-11-20T11:55:00Z', [{ accountId: 5, loadBalancerId: 50, bytesIn: 500_000 }], { pid: 8, startTime: '2026-11-20T11:50:00Z' });
  const held = (await ok(api.get('/management/usage/anomalies?status=HELD'))).anomalies;
  assert.deepEqual(held.map((a: any) => a.kind), ['DELTA_ABOVE_CEILING', 'DELTA_ABOVE_CEILING', 'DELTA_ABOVE_CEILING', 'DELTA_ABOVE_CEILING', 'LATE_SAMPLE']);

  const { page, pageErrors } = await openPage({ width: 400, height: 900 });
  await page.goto(`${api.url}/`); // the server's root is the dashboard
  await page.fill('#login input[name=token]', api.tokens.all);
  await page.click('#login button');
  await ready(page, '/');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(await overflow(), 0, 'the fleet page fits 400 px');
  await page.screenshot({ path: `${ARTIFACTS}dashboard-fleet-400px.png`, fullPage: true });

  await page.click('a[href="#/anomalies"] >> nth=0');
  await ready(page, '/anomalies');
  const rows = () => page.$$eval('#anomalies tbody tr[data-id]', (trs) => trs.map((tr) => [Number((tr as HTMLElement).dataset.id), tr.querySelector('td.status')!.textContent]));
  assert.deepEqual(await rows(), held.map((a: any) => [a.id, 'HELD']));
  assert.equal(await overflow(), 0, 'the anomalies page fits 400 px (its table scrolls in its box)');
  await page.screenshot({ path: `${ARTIFACTS}dashboard-anomalies-400px.png`, fullPage: true });

  // Filter by kind, then by time: the address carries the filter.
  await page.selectOption('#anomaly-filters select[name=kind]', 'LATE_SAMPLE');
  await page.click('#anomaly-filters button');
  await page.waitForFunction(() => location.hash.includes('kind=LATE_SAMPLE') && document.body.dataset.ready === '/anomalies');
  assert.deepEqual(await rows(), [[held[4].id, 'HELD']]);
  await page.selectOption('#anomaly-filters select[name=kind]', '');
  await page.fill('#anomaly-filters input[name=startTime]', '2026-11-20T12:15');
  await page.fill('#anomaly-filters input[name=endTime]', '2026-11-20T12:35');
  await page.click('#anomaly-filters button');
  await page.waitForFunction(() => location.hash.includes('startTime=') && !location.hash.includes('kind=') && document.body.dataset.ready === '/anomalies');
  assert.deepEqual((await rows()).map(([id]) => id), [held[1].id, held[2].id]);

  // Release two at once, from the filtered list: the browser asks first, naming the bytes. Said
  // no, nothing is decided; said yes, both go.
  const questions: string[] = [];
  let answer = false;
  page.on('dialog', (dialog) => {
    questions.push(dialog.message());
    void (answer ? dialog.accept() : dialog.dismiss());
  });
  await page.check('#select-all');
  await page.click('#release-selected');
  await page.waitForSelector('#anomaly-result:has-text("Nothing decided.")');
  assert.deepEqual(await rows(), [[held[1].id, 'HELD'], [held[2].id, 'HELD']], 'declined: still held');
  answer = true;
  await page.click('#release-selected');
  await page.waitForSelector('#anomaly-result:has-text("2 released")');
  // 2 MB and 2 MB above the previous readings (4 MB in all); nothing out.
  assert.deepEqual(questions, Array(2).fill('Release 2 anomalies holding 4.0 MB in and 0 B out into billing? Final records they change are exported again as revisions.'));
  // Back to every status: discard one, release the late one.
  await page.goto(`${api.url}/dashboard#/anomalies?status=ALL`);
  await ready(page, '/anomalies');
  await page.check(`input[name=anomaly][value="${held[0].id}"]`);
  await page.click('#discard-selected');
  await page.waitForSelector('#anomaly-result:has-text("1 discarded")');
  assert.match(questions.at(-1)!, /^Discard 1 anomaly holding 2\.0 MB in and 0 B out\? They will never be billed\.$/);
  await page.check(`input[name=anomaly][value="${held[4].id}"]`);
  await page.click('#release-selected');
  await page.waitForSelector('#anomaly-result:has-text("1 released")');
  await page.screenshot({ path: `${ARTIFACTS}dashboard-anomalies-decided.png`, fullPage: true });

  const after = new Map((await ok(api.get('/management/usage/anomalies'))).anomalies.map((a: any) => [a.id, a.status]));
  assert.deepEqual(held.map((a: any) => after.get(a.id)), ['DISCARDED', 'RELEASED', 'RELEASED', 'HELD', 'RELEASED']);
  assert.deepEqual(await rows(), held.map((a: any) => [a.id, after.get(a.id)]), 'the page shows what the API says');

  // The load balancer's page at 400 px, its name escaped in the title.
  await page.goto(`${api.url}/dashboard#/accounts/5/loadbalancers/50`);
  await ready(page, '/accounts/5/loadbalancers/50');
  assert.equal(await page.textContent('#view h1'), 'Account 5 / web <b>front</b> (50)');
  assert.equal(await overflow(), 0, 'the load balancer page fits 400 px');
  await page.screenshot({ path: `${ARTIFACTS}dashboard-loadbalancer-400px.png`, fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('for a billing operator: fleet totals and traffic with the open hour, a date range, a load balancer by id, records with their state and audit, human times, no backlog without a sink', { skip: missing }, async () => {
  const [sqlite] = await engines();
  // Half past the current hour, whenever the test runs: the open hour has half an hour of readings.
  const now = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 30 * 60_000;
  const api = await startApi(await sqlite!.fixture.create(), { nowMs: now });
  cleanups.push(() => sqlite!.fixture.cleanup());
  cleanups.push(() => api.close());
  const fleet = await startDemoFleet(api.store, { loadBalancers: 40, backfillHours: 6, deltaCeiling: 2n ** 40n, nowMs: now });
  await runRollup(api.store, { graceMs: 2 * 3_600_000, nowMs: now });
  const { page, pageErrors } = await openPage({ width: 1280, height: 1000 });
  await page.goto(`${api.url}/dashboard`);
  await page.fill('#login input[name=token]', api.tokens.support);
  await page.click('#login button');
  await ready(page, '/');

  // Fleet totals and traffic by hour, the open hour last and marked; no export backlog card.
  const summary = await (await api.get('/management/usage/summary', { token: api.tokens.support })).json();
  assert.equal(summary.exportBacklog, undefined, 'no sink: no backlog in the answer');
  assert.ok(summary.openHour && summary.openHour.provisional, 'the demo has read the open hour');
  const cards = await page.$$eval('#health .label', (ls) => ls.map((l) => l.textContent));
  assert.deepEqual(cards, ['rollup lag', 'export dead letters', 'anomalies held']);
  const fmt = (n: number) => {
    const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
    let i = 0;
    let v = n;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  };
  const totals = await page.$$eval('#totals .card', (cs) => cs.map((c) => [c.querySelector('.label')!.textContent, c.querySelector('.value')!.textContent]));
  assert.deepEqual(totals[0], ['bytes in, the last 24 hours', fmt(summary.fleet.incomingTransfer + summary.fleet.incomingTransferSsl)]);
  assert.match(totals[3]![0]!, /^open hour since \d{4}-\d\d-\d\d \d\d:00 UTC \(provisional\)$/);
  const drawn = await page.evaluate(() => {
    const c = (window as any).Chart.getChart(document.getElementById('fleet-chart'));
    return { labels: c.data.labels as string[], bytesIn: c.data.datasets[0].data as number[] };
  });
  assert.equal(drawn.labels.length, summary.hours.length + 1);
  assert.match(drawn.labels.at(-1)!, /\(open\)$/);
  assert.deepEqual(drawn.bytesIn.slice(0, -1), summary.hours.map((h: any) => h.incomingTransfer + h.incomingTransferSsl));
  assert.equal(drawn.bytesIn.at(-1), summary.openHour.incomingTransfer + summary.openHour.incomingTransferSsl);
  assert.ok(drawn.bytesIn.at(-1)! > 0, 'the open hour has traffic: a fresh install does not look empty');
  await page.screenshot({ path: `${ARTIFACTS}dashboard-fleet-totals.png`, fullPage: true });

  // A date range: yesterday (UTC), whole.
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const call = page.waitForResponse((r) => r.url().includes('/management/usage/summary?'));
  await page.fill('#range input[name=from]', yesterday);
  await page.fill('#range input[name=to]', yesterday);
  await page.click('#range button');
  const asked = new URL((await call).url());
  await page.waitForFunction(() => location.hash.includes('from=') && document.body.dataset.ready === '/');
  assert.deepEqual([asked.searchParams.get('startTime'), asked.searchParams.get('endTime')], [`${yesterday}T00:00:00.000Z`, new Date(Date.parse(`${yesterday}T00:00:00Z`) + 86_400_000).toISOString()]);
  assert.equal(await page.textContent('#totals .card .label'), `bytes in, ${yesterday} (UTC)`);

  // A load balancer found by its id alone; an unknown one says so.
  await page.fill('#lb-jump input', '424242');
  await page.click('#lb-jump button');
  await page.waitForSelector('#lb-not-found');
  assert.match(await page.textContent('#lb-not-found') ?? '', /load balancer 424242 is not known to lbmeter/);
  const lbId = fleet.sampleLoadBalancerId;
  const lbPath = `/accounts/${fleet.sampleAccountId}/loadbalancers/${lbId}`;
  await page.fill('#lb-jump input', String(lbId));
  await page.click('#lb-jump button');
  await ready(page, lbPath);

  // Its records: id, human times, final or provisional as X-Usage-Final-Until says, the open hour.
  const usage = await api.get(`/v1.0/${fleet.sampleAccountId}/loadbalancers/${lbId}/usage?startTime=${new Date(Date.now() - 86_400_000).toISOString()}&endTime=${new Date().toISOString()}`, { token: api.tokens.support });
  const finalUntil = Date.parse(usage.headers.get('x-usage-final-until')!);
  const records = (await usage.json()).loadBalancerUsageRecords as any[];
  const rows = await page.$$eval('#records tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.equal(rows.length, records.length + 1, 'every record and the open hour');
  records.forEach((r, i) => {
    assert.equal(rows[i]![0], String(r.id));
    assert.match(rows[i]![1]!, /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/, 'a human time in the display zone');
    assert.equal(rows[i]![8], Date.parse(r.endTime) <= finalUntil ? 'final' : 'provisional');
  });
  assert.ok(rows.some((r) => r[8] === 'final') && rows.some((r) => r[8] === 'provisional'), 'both states among a day of records');
  assert.equal(rows.at(-1)![8], 'open hour (provisional)');
  await page.screenshot({ path: `${ARTIFACTS}dashboard-loadbalancer-records.png`, fullPage: true });

  // A final record's audit: its readings bill its bytes, under billing rule 1.
  const finalRecord = records.find((r) => Date.parse(r.endTime) <= finalUntil);
  await page.click(`#records tr[data-id="${finalRecord.id}"] a`);
  await ready(page, `/audit/${lbId}/${finalRecord.id}`);
  assert.equal(await page.textContent('#audit-match'), 'match');
  assert.match(await page.textContent('#audit-state') ?? '', /: final, billing rule 1\.$/);
  assert.ok((await page.$$eval('#audit-readings tbody tr', (r) => r.length)) > 0);
  await page.screenshot({ path: `${ARTIFACTS}dashboard-audit.png`, fullPage: true });
  assert.deepEqual(pageErrors, []);
});
