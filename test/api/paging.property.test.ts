// Following `next` links from offset 0 visits every record of the window exactly once, in order,
// for random data and random limits (fast-check), on both stores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forEachEngine } from '../helpers/suite.ts';
import { newRollStamp, replaceHourRecords } from '../../src/store/usageRecords.ts';
import { putSnapshots } from '../../src/store/accountUsage.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';
import type { TestApi } from '../helpers/api.ts';

const H0 = Date.parse('2026-11-01T00:00:00Z');
const HOUR = 3_600_000;

const recordArb = fc.record({
  accountId: fc.integer({ min: 1, max: 4 }),
  loadBalancerId: fc.integer({ min: 1, max: 6 }),
  hour: fc.integer({ min: 0, max: 47 }),
  bytes: fc.bigInt({ min: 0n, max: 2n ** 62n }),
});

async function follow(api: TestApi, first: string, key: string): Promise<any[]> {
  const seen: any[] = [];
  let url: string | undefined = first;
  for (let pages = 0; url; pages++) {
    assert.ok(pages < 500, 'paging must end');
    const res = await api.get(url.replace(api.url, ''));
    assert.equal(res.status, 200);
    const body = await res.json();
    seen.push(...body[key]);
    url = body.links.find((l: any) => l.link.rel === 'next')?.link.href;
  }
  return seen;
}

forEachEngine('paging property', ({ api }) => {
  test('load balancer usage: every record once, in (account, load balancer, start, id) order', async () => {
    await fc.assert(fc.asyncProperty(fc.array(recordArb, { maxLength: 60 }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 47 }), fc.integer({ min: 0, max: 47 }), async (rows, limit, a, b) => {
      await api().store.db.deleteFrom('usage_records').execute();
      api().api.pageBoundaries.clear(); // each run is a new history; no walk spans two
      const drafts = new Map<string, UsageRecordDraft>();
      for (const r of rows) {
        // A load balancer belongs to one account: derive the account from the id.
        const lb = r.loadBalancerId * 10 + r.accountId;
        const start = H0 + r.hour * HOUR;
        drafts.set(`${lb}/${start}`, {
          accountId: r.accountId, loadBalancerId: lb, hourMs: start, startMs: start, endMs: start + HOUR, closing: false,
          bytesIn: r.bytes, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, averageNumConnections: 0, averageNumConnectionsSsl: 0,
          numVips: 1, numPolls: 0, vipType: 'PUBLIC', sslMode: 'OFF',
        });
      }
      for (const d of drafts.values()) await replaceHourRecords(api().store.db, d.hourMs, [d], { final: true, stamp: newRollStamp(), loadBalancerIds: [d.loadBalancerId] });
      const [from, to] = [Math.min(a, b), Math.max(a, b)];
      const window = (h: number) => new Date(H0 + h * HOUR).toISOString();
      const expected = [...drafts.values()]
        .filter((d) => d.startMs >= H0 + from * HOUR && d.endMs <= H0 + to * HOUR)
        .sort((x, y) => x.accountId - y.accountId || x.loadBalancerId - y.loadBalancerId || x.startMs - y.startMs)
        .map((d) => `${d.loadBalancerId}/${new Date(d.startMs).toISOString().slice(0, 19)}Z/${Number(d.bytesIn)}`);
      const seen = await follow(api(), `/management/loadbalancers/usage?startTime=${window(from)}&endTime=${window(to)}&limit=${limit}`, 'loadBalancerUsageRecords');
      // JSON.parse reads transfers as doubles on both sides; their exactness is tested in writes.test.ts.
      assert.deepEqual(seen.map((r) => `${r.loadBalancerId}/${r.startTime}/${r.incomingTransfer}`), expected);
      // A record id is unique within its load balancer (domain/recordIds.ts).
      assert.equal(new Set(seen.map((r) => `${r.loadBalancerId}/${r.id}`)).size, seen.length, 'no record twice');
      // Pages reached by `next` seek from a remembered boundary; skipping rows gives the same.
      const skipped: any[] = [];
      for (let offset = 0; offset < Math.max(seen.length, 1); offset += limit) {
        api().api.pageBoundaries.clear();
        const page = await (await api().get(`/management/loadbalancers/usage?startTime=${window(from)}&endTime=${window(to)}&limit=${limit}&offset=${offset}`)).json();
        skipped.push(...page.loadBalancerUsageRecords);
      }
      assert.deepEqual(skipped.map((r) => `${r.loadBalancerId}/${r.id}`), seen.map((r) => `${r.loadBalancerId}/${r.id}`));
    }), { numRuns: 25 });
  });

  test('account usage: every snapshot once, in (account, time, id) order', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ accountId: fc.integer({ min: 1, max: 5 }), minute: fc.integer({ min: 0, max: 500 }), n: fc.nat(100) }), { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), async (rows, limit) => {
      await api().store.db.deleteFrom('account_usage').execute();
      const unique = new Map(rows.map((r) => [`${r.accountId}/${r.minute}`, r]));
      await putSnapshots(api().store.db, [...unique.values()].map((r) => ({ accountId: r.accountId, timeMs: H0 + r.minute * 60_000, source: 'EVENT' as const, counts: { numLoadBalancers: r.n, numPublicVips: 0, numServicenetVips: 0 } })));
      const expected = [...unique.values()].sort((x, y) => x.accountId - y.accountId || x.minute - y.minute).map((r) => `${r.accountId}/${r.n}`);
      const seen = await follow(api(), `/management/accounts/usage?startTime=2026-11-01&endTime=2026-11-02&limit=${limit}`, 'accountUsageRecords');
      assert.deepEqual(seen.map((r) => `${r.accountId}/${r.numLoadBalancers}`), expected);
    }), { numRuns: 25 });
  });
});
