// Every parameter of every read endpoint: missing, wrong type, wrong format, impossible dates,
// reversed and over-long ranges, boundaries and hostile strings. Each gets the right status and a
// fault body naming the problem, in JSON and in XML; none gets a 500.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/suite.ts';
import { cluster, createLb, rollup } from '../helpers/fleet.ts';
import { parseXml, PUBLIC_NS } from '../helpers/xml.ts';
import type { TestApi } from '../helpers/api.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const RANGE = 'startTime=2026-11-19&endTime=2026-11-20';

interface Case {
  query: string;
  status: number;
  /** Words the fault message (or details) must contain. */
  says: string;
}

const HOSTILE = [
  `<script>alert("x")</script>`,
  `' OR 1=1; DROP TABLE usage_records; --`,
  '\u0000\u0001\u001f',
  '%ZZ',
  'x'.repeat(5000),
  '😀'.repeat(40),
];

function timeCases(name: string, required: boolean): Case[] {
  const other = name === 'startTime' ? 'endTime=2026-11-20' : 'startTime=2026-11-19';
  const q = (v: string) => `${other}&${name}=${encodeURIComponent(v)}`;
  const cases: Case[] = [
    ...['yesterday', '2026-02-30', '2026-13-01', '2026-11-19T25:00', '2026-11-19T10:00:00+15:00', '19-11-2026', '1969-12-31', '', '2026-11-19T10'].map((v) => ({ query: q(v), status: 400, says: name })),
    ...HOSTILE.map((v) => ({ query: q(v), status: 400, says: name })),
    { query: `${other}&${name}=2026-11-19&${name}=2026-11-19`, status: 400, says: `${name}: given more than once` },
  ];
  if (required) cases.push({ query: other, status: 400, says: `${name}: required` });
  return cases;
}

const pagingCases = (rest: string): Case[] => [
  ...['-1', 'abc', '1.5', '1e3', ' 5', '0x10', '', ...HOSTILE].map((v) => ({ query: `${rest}&offset=${encodeURIComponent(v)}`, status: 400, says: 'offset' })),
  ...['0', '-5', 'abc', '2.5', '', ...HOSTILE].map((v) => ({ query: `${rest}&limit=${encodeURIComponent(v)}`, status: 400, says: 'limit' })),
  { query: `${rest}&limit=1001`, status: 413, says: 'at most 1000' },
  { query: `${rest}&limit=99999999999999999999999`, status: 413, says: 'at most 1000' },
  { query: `${rest}&offset=1&offset=2`, status: 400, says: 'offset: given more than once' },
];

interface Endpoint {
  path: string;
  /** The same endpoint with each path parameter replaced by a bad value. */
  badPaths: { path: string; says: string; status?: number }[];
  times?: 'required' | 'optional' | 'day';
  paged?: boolean;
}

const ENDPOINTS: Endpoint[] = [
  { path: '/management/clusters/1/customercount', badPaths: idCases('/management/clusters/', '/customercount', 'clusterId') },
  { path: '/management/accounts/10/loadbalancers', badPaths: idCases('/management/accounts/', '/loadbalancers', 'accountId') },
  { path: '/management/accounts/10/extendedloadbalancers', badPaths: idCases('/management/accounts/', '/extendedloadbalancers', 'accountId') },
  { path: '/management/accounts/billing', badPaths: [], times: 'day' },
  { path: '/management/accounts/usage', badPaths: [], times: 'required', paged: true },
  { path: '/management/loadbalancers/usage', badPaths: [], times: 'required', paged: true },
  { path: '/v1.0/10/loadbalancers/usage', badPaths: idCases('/v1.0/', '/loadbalancers/usage', 'accountId'), times: 'optional', paged: true },
  {
    path: '/v1.0/10/loadbalancers/100/usage', times: 'optional', paged: true,
    badPaths: [...idCases('/v1.0/10/loadbalancers/', '/usage', 'loadBalancerId'), { path: '/v1.0/10/loadbalancers/200/usage', says: 'not found', status: 404 }, { path: '/v1.0/10/loadbalancers/999/usage', says: 'not found', status: 404 }],
  },
  {
    path: '/v1.0/10/loadbalancers/100/usage/current', paged: true,
    badPaths: [...idCases('/v1.0/10/loadbalancers/', '/usage/current', 'loadBalancerId'), { path: '/v1.0/20/loadbalancers/100/usage/current', says: 'not found', status: 404 }],
  },
  { path: '/v1.0/10/loadbalancers/billable', badPaths: idCases('/v1.0/', '/loadbalancers/billable', 'accountId'), times: 'required', paged: true },
];

function idCases(prefix: string, suffix: string, name: string) {
  return ['abc', '0', '-1', '1.5', '1e3', '9'.repeat(40), encodeURIComponent(`<a href="x">'`)].map((v) => ({ path: `${prefix}${v}${suffix}`, says: name }));
}

function casesOf(e: Endpoint): Case[] {
  const cases: Case[] = [];
  if (e.times === 'required' || e.times === 'day') {
    cases.push(...timeCases('startTime', true), ...timeCases('endTime', true));
    cases.push({ query: 'startTime=2026-11-20&endTime=2026-11-19', status: 400, says: 'startTime: must not be after endTime' });
  }
  if (e.times === 'optional') {
    cases.push(...timeCases('startTime', false), ...timeCases('endTime', false));
    cases.push({ query: 'startTime=2026-11-20T10:00&endTime=2026-11-20T09:59', status: 400, says: 'must not be after' });
  }
  if (e.times === 'day') cases.push({ query: 'startTime=2026-11-18T23:59:59Z&endTime=2026-11-20', status: 400, says: 'at most 24 hours' });
  if (e.paged) cases.push(...pagingCases(e.times === 'required' ? RANGE : 'x=1'));
  return cases;
}

async function assertFault(api: TestApi, path: string, status: number, says: string) {
  for (const accept of ['application/json', 'application/xml']) {
    const res = await api.get(path, { accept });
    const text = await res.text();
    assert.equal(res.status, status, `${accept} ${path.slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`);
    assert.match(res.headers.get('content-type') ?? '', accept === 'application/json' ? /^application\/json; charset=utf-8/ : /^application\/xml; charset=utf-8/);
    let message: string;
    if (accept === 'application/json') {
      const body = JSON.parse(text);
      const kind = Object.keys(body)[0];
      assert.equal(kind, { 400: 'badRequest', 404: 'itemNotFound', 413: 'overLimit' }[status]);
      assert.equal(body[kind].code, status);
      message = `${body[kind].message} ${body[kind].details ?? ''}`;
    } else {
      const root = parseXml(text);
      assert.equal(root.name, `{${PUBLIC_NS}}${{ 400: 'badRequest', 404: 'itemNotFound', 413: 'overLimit' }[status]}`);
      assert.equal(root.attrs.code, String(status));
      message = root.children.map((c) => c.text ?? '').join(' ');
    }
    assert.ok(message.includes(says), `fault for ${path.slice(0, 120)} should say "${says}": ${message}`);
    assert.ok(message.length < 400, 'messages are cut, never echo a whole hostile value');
    assert.ok(!/at \w+ \(|SELECT|sqlite|\/work\//i.test(message), `no internals in a fault: ${message}`);
  }
}

forEachEngine('parameters of every read endpoint', ({ api }) => {
  before(async () => {
    await cluster(api(), 1);
    await createLb(api(), { accountId: 10, id: 100, time: '2026-11-19T08:00:00Z' });
    await createLb(api(), { accountId: 20, id: 200, time: '2026-11-19T08:00:00Z' });
    await rollup(api());
  });

  for (const e of ENDPOINTS) {
    test(`${e.path}: bad values get a clear fault, good boundaries pass`, async () => {
      for (const c of casesOf(e)) await assertFault(api(), `${e.path}?${c.query}`, c.status, c.says);
      for (const b of e.badPaths) await assertFault(api(), b.path, b.status ?? 400, b.says);
      const base = e.times === 'required' ? `?${RANGE}` : e.times === 'day' ? '?startTime=2026-11-19T00:00&endTime=2026-11-20T00:00' : '?x=1';
      for (const good of e.paged ? ['&limit=1', '&limit=1000', '&offset=0', '&offset=100000'] : ['']) {
        const res = await api().get(`${e.path}${base}${good}`);
        assert.equal(res.status, 200, `${e.path}${base}${good}: ${await res.text()}`);
      }
    });
  }

  test('an offset past the end answers an empty page with only a previous link', async () => {
    const body = await (await api().get(`/management/loadbalancers/usage?${RANGE}&offset=5000&limit=10`)).json();
    assert.deepEqual(body.loadBalancerUsageRecords, []);
    assert.deepEqual(body.links.map((l: any) => [l.link.rel, new URL(l.link.href).searchParams.get('offset')]), [['previous', '4990']]);
  });

  test('paging links repeat the caller\'s parameters URL-encoded and change only offset', async () => {
    const res = await api().get('/management/loadbalancers/usage?startTime=2026-11-19T00:00:00%2B00:00&endTime=2026-11-20&limit=1&offset=1&note=%3Ca%26b%3E');
    const body = await res.json();
    const next = new URL(body.links[0].link.href);
    assert.equal(next.origin + next.pathname, `${api().url}/management/loadbalancers/usage`);
    assert.deepEqual([...next.searchParams], [['startTime', '2026-11-19T00:00:00+00:00'], ['endTime', '2026-11-20'], ['limit', '1'], ['offset', '2'], ['note', '<a&b>']]);
    assert.ok(!body.links[0].link.href.includes('<'), 'hostile values stay encoded in links');
    const xml = await (await api().get('/management/loadbalancers/usage?startTime=2026-11-19&endTime=2026-11-20&limit=1&offset=1&note=%3Ca%26b%3E', { accept: 'application/xml' })).text();
    assert.doesNotThrow(() => parseXml(xml));
  });

  test('unknown routes, methods and media types', async () => {
    await assertFault(api(), '/v1.0/10/nothing-here', 404, 'no resource');
    const post = await fetch(`${api().url}/management/accounts/usage?${RANGE}`, { method: 'POST', headers: { 'x-auth-token': api().tokens.all } });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal(Object.keys(await post.json())[0], 'methodNotAllowed');
    const csv = await api().get(`/management/accounts/usage?${RANGE}`, { accept: 'text/csv' });
    assert.equal(csv.status, 406);
    assert.deepEqual(Object.entries(await csv.json()).map(([k, v]: [string, any]) => [k, v.code]), [['generalFault', 406]]);
    for (const accept of ['*/*', 'application/*', 'text/html, application/xml;q=0.9', 'application/json;q=0.5, application/xml;q=0.8']) {
      const r = await api().get(`/management/accounts/usage?${RANGE}`, { accept });
      assert.equal(r.status, 200, accept);
      assert.equal(r.headers.get('content-type')!.startsWith(accept.includes('xml') ? 'application/xml' : 'application/json'), true, accept);
    }
  });
}, { nowMs: NOW });
