// The billing day (SPEC 3.4) streamed as it is read: field for field what the paged management
// endpoints answer for the same day, in JSON and in XML (through the same shapes as the buffered
// writer), hostile names escaped; and a store that fails mid-stream leaves a response no client
// can take for complete. On both stores, with a fleet big enough to span several reads.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'kysely';
import { forEachEngine } from '../helpers/suite.ts';
import { cluster, host, ok, rollup, sample, vip } from '../helpers/fleet.ts';
import { parseXml } from '../helpers/xml.ts';
import { stripForCompare } from '../helpers/shape.ts';
import { toXml } from '../../src/api/format/xml.ts';
import { RESPONSES } from '../../src/api/format/shape.ts';

const at = (t: string) => Date.parse(`2026-11-${t}:00Z`);
const LBS = 1000;
const DAY = 'startTime=2026-11-20T00:00:00Z&endTime=2026-11-21T00:00:00Z';
const accountOf = (lb: number) => 200 + (lb % 7);

/** JSON with integers beyond 2^53 kept exact (as BigInt), as billing must read it. */
function exactParse(text: string): any {
  return JSON.parse(text.replace(/([:\[,])(-?\d{16,})(?=[,\]}])/g, '$1"@big$2"'), (_k, v) => (typeof v === 'string' && v.startsWith('@big') ? BigInt(v.slice(4)) : v));
}

async function allPages(api: any, path: string, key: string): Promise<any[]> {
  const out: any[] = [];
  for (let offset = 0; ; offset += 1000) {
    const res = await api.get(`${path}&limit=1000&offset=${offset}`);
    assert.equal(res.status, 200);
    const body = exactParse(await res.text());
    out.push(...body[key]);
    if (!body.links.some((l: any) => l.link.rel === 'next')) return out;
  }
}

/** The day as the paged endpoints tell it, in the billing report's form (SPEC 3.4). */
async function billingFromPages(api: any) {
  const snapshots = await allPages(api, `/management/accounts/usage?${DAY}`, 'accountUsageRecords');
  const records = await allPages(api, `/management/loadbalancers/usage?${DAY}`, 'loadBalancerUsageRecords');
  const accounts = [...new Set([...snapshots, ...records].map((r) => r.accountId))].sort((a, b) => a - b);
  const billings = [];
  for (const accountId of accounts) {
    const names = new Map((await ok(api.get(`/management/accounts/${accountId}/loadbalancers`))).accountLoadBalancers.map((l: any) => [l.loadBalancerId, l.loadBalancerName]));
    const mine = records.filter((r) => r.accountId === accountId);
    const lbs = [...new Set(mine.map((r) => r.loadBalancerId))];
    billings.push({
      accountId,
      accountUsage: { accountUsageRecords: snapshots.filter((s) => s.accountId === accountId).map(({ accountId: _a, ...s }) => s), links: [] },
      loadBalancerUsages: lbs.map((id) => ({
        loadBalancerId: id, loadBalancerName: names.get(id),
        loadBalancerUsageRecords: mine.filter((r) => r.loadBalancerId === id).map(({ accountId: _a, loadBalancerId: _l, ...r }) => r),
        links: [],
      })),
    });
  }
  return { accountBillings: billings };
}

forEachEngine('the billing day, streamed', ({ api, engine }) => {
  before(async () => {
    await cluster(api(), 1);
    await host(api(), 1, 1);
    api().clock.now = at('19T23:00');
    const name = (lb: number) => (lb % 50 === 0 ? `<b>"shop" & 'co'</b> ${lb}` : `lb-${lb}`);
    await ok(api().send('POST', '/management/usage/events', {
      events: Array.from({ length: LBS }, (_, i) => ({
        id: `create-${i + 1}`, type: 'CREATE_LOADBALANCER', time: '2026-11-19T22:00:00Z', accountId: accountOf(i + 1), loadBalancerId: i + 1,
        loadBalancer: { name: name(i + 1), protocol: 'HTTP', clusterId: 1, virtualIps: [vip(i + 1, `10.2.${(i + 1) >> 8}.${(i + 1) & 255}`)] },
      })),
    }));
    api().clock.now = at('20T12:30');
    await ok(api().send('POST', '/management/usage/events', { events: [
      { id: 'ssl-3', type: 'SSL_MIXED_ON', time: '2026-11-20T06:30:00Z', accountId: accountOf(3), loadBalancerId: 3 },
      { id: 'del-10', type: 'DELETE_LOADBALANCER', time: '2026-11-20T09:15:00Z', accountId: accountOf(10), loadBalancerId: 10 },
    ] }));
    for (const [t, factor] of [['20T03:10', 1], ['20T07:40', 5]] as const) {
      await sample(api(), 1, at(t), Array.from({ length: 30 }, (_, i) => ({ accountId: accountOf(i + 1), loadBalancerId: i + 1, bytesIn: factor * (i + 1) * 1000, bytesOut: String(2n ** 60n + BigInt(factor * i)) })), { pid: 3, startTime: '2026-11-19T20:00:00Z' });
    }
    api().clock.now = at('21T04:00');
    await rollup(api());
  });

  test('JSON and XML equal, field for field, what the paged endpoints answer for the day', async () => {
    const expected = await billingFromPages(api());
    assert.ok(expected.accountBillings.length === 7 && expected.accountBillings[0]!.loadBalancerUsages.length > 100);
    const res = await api().get(`/management/accounts/billing?${DAY}`, { token: api().tokens.billing });
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked', 'streamed, not buffered');
    const text = await res.text();
    assert.match(text, /"outgoingTransfer":1152921504606846981,/, 'transfers stay exact past 2^53');
    assert.ok(sameJson(exactParse(text), expected), 'the streamed JSON is the paged endpoints\' day');

    const xml = await (await api().get(`/management/accounts/billing.xml?${DAY}`)).text();
    const want = parseXml(toXml(RESPONSES.accountBillings, expected));
    assert.ok(sameJson(stripForCompare(parseXml(xml)), stripForCompare(want)), 'the streamed XML is the buffered writer\'s');
    assert.match(xml, /loadBalancerName="&lt;b&gt;&quot;shop&quot; &amp; &apos;co&apos;&lt;\/b&gt; 50"/);

    const empty = await ok(api().get('/management/accounts/billing?startTime=2026-10-01&endTime=2026-10-02'));
    assert.deepEqual(empty, { accountBillings: [] });
    assert.equal(parseXml(await (await api().get('/management/accounts/billing.xml?startTime=2026-10-01&endTime=2026-10-02')).text()).children.length, 0);
  });

  test('a tenant\'s account usage streams its load balancers the same way', async () => {
    const account = accountOf(1);
    const res = await api().get(`/v1.0/${account}/loadbalancers/usage?${DAY}`, { token: await api().tenant(account) });
    assert.equal(res.status, 200);
    const body = exactParse(await res.text());
    const day = (await billingFromPages(api())).accountBillings.find((b) => b.accountId === account)!;
    // The tenant's view takes records starting in the window (SPEC 3.7); billing those inside it.
    const inside = (r: any) => Date.parse(r.endTime) <= at('21T00:00');
    assert.ok(sameJson(body.loadBalancerUsages.map((l: any) => ({ ...l, loadBalancerUsageRecords: l.loadBalancerUsageRecords.filter(inside) })), day.loadBalancerUsages));
    assert.ok(body.loadBalancerUsages.some((l: any) => l.loadBalancerUsageRecords.some((r: any) => !inside(r))), 'and the record starting at the window\'s end');
    const tooLong = await api().get(`/v1.0/${account}/loadbalancers/usage?startTime=2026-01-01&endTime=2026-11-21`);
    assert.equal(tooLong.status, 400);
    assert.match((await tooLong.json()).badRequest.message, /at most the retention period, 90 days/);
  });

  test('a store that fails mid-stream: the response breaks off, it never parses as complete', async () => {
    if (engine === 'sqlite') {
      // An embedded store cannot be killed apart from the process: it fails by a row it cannot
      // read, late in the report's order (a counter that is not a number).
      await api().store.db.updateTable('usage_records').set({ bytes_in: 'corrupt' as any }).where('load_balancer_id', '=', 993).where('start_ms', '=', at('20T12:00')).execute();
    }
    if (engine === 'postgres') {
      // PostgreSQL sends a report's rows as fast as the connection takes them: a day that fits
      // in the sockets' buffers is all sent before it could be killed. This one (200k records,
      // the day's copied under other load balancer ids) holds the COPY while the client waits.
      const { n } = (await sql<{ n: number }>`select count(*)::int as n from usage_records`.execute(api().store.db)).rows[0]!;
      await sql`insert into usage_records (account_id, load_balancer_id, hour_ms, start_ms, end_ms, closing, bytes_in, bytes_out, bytes_in_ssl, bytes_out_ssl,
          avg_connections, avg_connections_ssl, num_vips, num_polls, vip_type, ssl_mode, event_type, final, roll_stamp, revision, voided)
        select account_id, load_balancer_id + k * 1000000, hour_ms, start_ms, end_ms, closing, bytes_in, bytes_out, bytes_in_ssl, bytes_out_ssl,
          avg_connections, avg_connections_ssl, num_vips, num_polls, vip_type, ssl_mode, event_type, final, roll_stamp, revision, voided
        from usage_records, generate_series(1, ${Math.ceil(200_000 / n)}) k`.execute(api().store.db);
    }
    const res = await api().get(`/management/accounts/billing?${DAY}`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.length < 100_000) {
      const { done, value } = await reader.read();
      assert.ok(!done, `the day is longer than 100 000 characters: ${text.slice(0, 300)}`);
      text += decoder.decode(value, { stream: true });
    }
    if (engine === 'postgres') {
      const admin = new pg.Client({ connectionString: api().config.db });
      await admin.connect();
      const killed = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like 'copy (%usage_records%'`);
      await admin.end();
      assert.ok(killed.rowCount! >= 1, 'the streaming query was found and ended');
    }
    let broken = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      broken = true;
    }
    assert.ok(broken, `the client saw ${text.length} characters and then the end of the response, not a broken transfer`);
    assert.ok(!parses(text), 'what it got does not parse as a document');
    assert.equal((await api().get('/health', { token: null })).status, 200, 'the service goes on');
  });
}, { nowMs: at('19T23:00'), env: { LBMETER_DELTA_CEILING: String(2n ** 62n) } });

/** Deep equality that fails fast: assert.deepEqual's diff of two 7 MB trees takes minutes. */
function sameJson(a: unknown, b: unknown): boolean {
  const sorted = (_k: string, x: unknown) => typeof x === 'bigint' ? `${x}n`
    : x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1))) : x;
  return JSON.stringify(a, sorted) === JSON.stringify(b, sorted);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
