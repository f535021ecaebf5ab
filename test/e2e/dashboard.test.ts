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

const ready = (page: Page, path: string) => page.waitForSelector(`body[data-ready="${path}"]`, { timeout: 15_000 });

test('sign in, the fleet, an account\'s chart from the API\'s numbers', { skip: missing }, async () => {
  const [sqlite] = await engines();
  const api = await startApi(await sqlite!.fixture.create());
  cleanups.push(() => sqlite!.fixture.cleanup());
  cleanups.push(() => api.close());
  const fleet = await startDemoFleet(api.store, { loadBalancers: 40, backfillHours: 6, deltaCeiling: 2n ** 40n });
  await runRollup(api.store, { graceMs: 2 * 3_600_000 });
  const browser = await launch();
  cleanups.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  mkdirSync(ARTIFACTS, { recursive: true });

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
  assert.equal(await page.$$eval('#load-balancers tbody tr', (r) => r.length), body.loadBalancerUsages.length);
  await page.screenshot({ path: `${ARTIFACTS}dashboard-account.png`, fullPage: true });

  // One load balancer, then signing out.
  await page.click('#load-balancers tbody tr:first-child a');
  await page.waitForSelector('body[data-ready^="/accounts/"][data-ready*="/loadbalancers/"]');
  assert.ok((await page.$$eval('#records tbody tr', (r) => r.length)) > 0);
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  assert.deepEqual(pageErrors, []);
});
