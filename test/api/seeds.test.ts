// Each seed example rebuilt through the write API and compared with the response, in JSON and
// XML, on both stores. Where the situation can be rebuilt exactly the comparison is exact;
// elsewhere names, nesting, types and namespaces must match and the values we set are checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/suite.ts';
import { cluster, createLb, events, ok, rollup, sample, vip, host } from '../helpers/fleet.ts';
import { parseXml, MGMT_NS, PUBLIC_NS, ATOM_NS } from '../helpers/xml.ts';
import { assertSameJsonShape, assertSameXmlShape, seedJson, seedXml, stripForCompare } from '../helpers/shape.ts';

const CHICAGO = { LBMETER_TIMEZONE: 'America/Chicago', LBMETER_BASE_URL: 'http://localhost:8080/lb-mgmt-rest-service' };
const SEPT_2011 = Date.parse('2011-09-02T12:00:00Z');

async function json(res: Promise<Response>) {
  const r = await res;
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.ok(r.headers.get('x-request-id'));
  return r.json();
}

async function xml(res: Promise<Response>) {
  const r = await res;
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.equal(r.headers.get('content-type'), 'application/xml; charset=utf-8');
  return parseXml(text);
}

forEachEngine('seed: customer count by cluster', ({ api }) => {
  test('answers exactly the seed example', async () => {
    await cluster(api(), 1, 'DEV', 'ORD');
    await cluster(api(), 2, 'OTHER', 'DFW');
    const counts: [number, number][] = [[354934, 1], [379876, 1], [406271, 16], [528830, 50], [546428, 4], [563374, 22]];
    let id = 1;
    const batch = [];
    for (const [accountId, n] of counts) {
      for (let i = 0; i < n; i++) {
        batch.push({ type: 'CREATE_LOADBALANCER', time: '2011-08-01T00:00:00Z', accountId, loadBalancerId: id, loadBalancer: { name: `lb${id}`, protocol: 'HTTP', clusterId: 1, virtualIps: [] } });
        id++;
      }
    }
    // Neither a deleted load balancer nor one of another cluster counts.
    batch.push({ type: 'CREATE_LOADBALANCER', time: '2011-08-01T00:00:00Z', accountId: 354934, loadBalancerId: 9001, loadBalancer: { name: 'gone', protocol: 'HTTP', clusterId: 1, virtualIps: [] } });
    batch.push({ type: 'DELETE_LOADBALANCER', time: '2011-08-02T00:00:00Z', accountId: 354934, loadBalancerId: 9001 });
    batch.push({ type: 'CREATE_LOADBALANCER', time: '2011-08-01T00:00:00Z', accountId: 111, loadBalancerId: 9002, loadBalancer: { name: 'elsewhere', protocol: 'HTTP', clusterId: 2, virtualIps: [] } });
    await events(api(), batch);

    assert.deepEqual(await json(api().get('/management/clusters/1/customercount')), seedJson('customercount.json'));
    assert.deepEqual(stripForCompare(await xml(api().get('/management/clusters/1/customercount', { accept: 'application/xml' }))), stripForCompare(seedXml('customercount.xml')));
    // The seed's request carries a body; it is ignored. The .xml suffix equals Accept.
    const withBody = await fetch(`${api().url}/management/clusters/1/customercount.xml`, { method: 'GET', headers: { 'x-auth-token': api().tokens.support } });
    assert.deepEqual(stripForCompare(parseXml(await withBody.text())), stripForCompare(seedXml('customercount.xml')));
    assert.deepEqual(await json(api().get('/v1.0/management/clusters/1/customercount.json')), seedJson('customercount.json'));
  });
}, { env: CHICAGO, nowMs: SEPT_2011 });

forEachEngine('seed: account load balancers and extended load balancers', ({ api }) => {
  test('answer exactly the seed examples', async () => {
    await cluster(api(), 1, 'DEV', 'ORD');
    await events(api(), [
      { type: 'CREATE_LOADBALANCER', time: '2011-08-01T00:00:00Z', accountId: 5805065, loadBalancerId: 322, loadBalancer: { name: 'a-new-loadbalancer', protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', virtualIps: [vip(268, '2001:4801:79f1:0002:22d6:5749:0000:0002'), vip(1299, '10.12.99.228')] } },
      { type: 'CREATE_LOADBALANCER', time: '2011-08-01T00:00:00Z', accountId: 5805065, loadBalancerId: 321, loadBalancer: { name: 'a-new-loadbalancer', protocol: 'HTTP', clusterId: 1, status: 'BUILD', virtualIps: [vip(1298, '10.12.99.227'), vip(267, '2001:4801:79f1:0002:22d6:5749:0000:0001')] } },
    ]);
    assert.deepEqual(await json(api().get('/management/accounts/5805065/loadbalancers')), seedJson('account-loadbalancers.json'));
    assert.deepEqual(stripForCompare(await xml(api().get('/management/accounts/5805065/loadbalancers.xml'))), stripForCompare(seedXml('account-loadbalancers.xml')));
    assert.deepEqual(await json(api().get('/management/accounts/5805065/extendedloadbalancers')), seedJson('extended-loadbalancers.json'));
    const ours = await xml(api().get('/management/accounts/5805065/extendedloadbalancers', { accept: 'application/xml' }));
    assert.deepEqual(stripForCompare(ours), stripForCompare(seedXml('extended-loadbalancers.xml')));
    assert.equal(ours.children[0].children[0].name, `{${MGMT_NS}}virtualIps`);
  });
}, { env: CHICAGO, nowMs: SEPT_2011 });

forEachEngine('seed: paginated account usage of all accounts', ({ api }) => {
  test('answers exactly the seed example, links included', async () => {
    await cluster(api(), 1, 'DEV', 'ORD');
    // 24 snapshots of a lower account id come first in (accountId, startTime, id) order.
    for (let i = 0; i < 24; i++) await createLb(api(), { accountId: 100001, id: 1000 + i, time: Date.parse('2011-08-01T00:00:00Z') + i * 60_000 });
    // Account 406271: 15 load balancers at one instant (3 public and 12 servicenet IPv4 VIPs)...
    await events(api(), Array.from({ length: 15 }, (_, i) => ({
      type: 'CREATE_LOADBALANCER', time: '2011-09-01T10:00:00-05:00', accountId: 406271, loadBalancerId: 40001 + i,
      loadBalancer: { name: `lb${i}`, protocol: 'HTTP', clusterId: 1, virtualIps: [vip(40001 + i, `10.1.0.${i + 1}`, i < 3 ? 'PUBLIC' : 'SERVICENET')] },
    })));
    // ...then one comes and goes, as in the seed.
    const publicLb = (id: number, time: string) => createLb(api(), { accountId: 406271, id, time, vips: [vip(id, `10.2.0.${id - 40015}`)] });
    await publicLb(40016, '2011-09-01T14:21:16-05:00');
    await events(api(), [{ type: 'DELETE_LOADBALANCER', time: '2011-09-01T14:21:24-05:00', accountId: 406271, loadBalancerId: 40016 }]);
    await publicLb(40017, '2011-09-01T14:22:06-05:00');
    // Arriving out of order changes nothing.
    await publicLb(40018, '2011-09-01T14:46:48-05:00');
    await events(api(), [{ type: 'DELETE_LOADBALANCER', time: '2011-09-01T14:23:03-05:00', accountId: 406271, loadBalancerId: 40017 }]);
    // One more snapshot after the page, so that a next link exists.
    await events(api(), [{ type: 'CREATE_VIRTUAL_IP', time: '2011-09-01T15:00:00-05:00', accountId: 406271, loadBalancerId: 40018, loadBalancer: { virtualIps: [vip(40018, '10.2.0.3'), vip(50000, '2001:db8::1')] } }]);

    const path = '/management/accounts/usage?startTime=2011-01-11&endTime=2013-01-12&offset=25&limit=5';
    assert.deepEqual(await json(api().get(path)), seedJson('accounts-usage.json'));

    api().api.config.baseUrl = 'https://admin.ord.loadbalancers.api.rackspacecloud.com/v1.0';
    try {
      const ours = await xml(api().get(path, { accept: 'application/xml' }));
      assert.deepEqual(stripForCompare(ours), stripForCompare(seedXml('accounts-usage.xml')));
      assert.equal(ours.children.at(-2)!.name, `{${ATOM_NS}}link`);
    } finally {
      api().api.config.baseUrl = CHICAGO.LBMETER_BASE_URL;
    }
  });
}, { env: CHICAGO, nowMs: SEPT_2011 });

forEachEngine('seed: paginated load balancer usage of all load balancers', ({ api }) => {
  test('has the seed\'s names, nesting, types and namespaces, and the records the events make', async () => {
    await cluster(api(), 1, 'DEV', 'ORD');
    await host(api(), 1, 1);
    await createLb(api(), { accountId: 406271, id: 33, time: '2011-08-25T11:45:48-05:00', vips: [vip(1, '10.12.99.1', 'SERVICENET')] });
    await sample(api(), 1, '2011-08-25T12:00:00-05:00', [{ accountId: 406271, loadBalancerId: 33, bytesIn: 100, bytesOut: 2000, connections: 3 }], { pid: 7, startTime: '2011-08-25T11:00:00-05:00' });
    await events(api(), [{ type: 'DELETE_LOADBALANCER', time: '2011-08-25T14:10:00-05:00', accountId: 406271, loadBalancerId: 33 }]);
    api().clock.now = Date.parse('2011-08-26T12:00:00Z');
    await rollup(api());

    const path = '/management/loadbalancers/usage?startTime=2011-01-11&endTime=2013-01-12&offset=1&limit=2';
    const body = await json(api().get(path));
    assertSameJsonShape(seedJson('loadbalancers-usage.json'), body);
    assert.deepEqual(body.links.map((l: any) => l.link.rel), ['next', 'previous']);
    assert.equal(body.links[0].link.href, 'http://localhost:8080/lb-mgmt-rest-service/management/loadbalancers/usage?startTime=2011-01-11&endTime=2013-01-12&offset=3&limit=2');
    assert.equal(body.links[1].link.href, 'http://localhost:8080/lb-mgmt-rest-service/management/loadbalancers/usage?startTime=2011-01-11&endTime=2013-01-12&offset=0&limit=2');

    const all = await json(api().get('/management/loadbalancers/usage?startTime=2011-01-11&endTime=2013-01-12'));
    const records = all.loadBalancerUsageRecords;
    assert.deepEqual(records.map((r: any) => [r.startTime, r.endTime, r.eventType ?? null, r.numVips]), [
      ['2011-08-25T11:45:48-05:00', '2011-08-25T12:00:00-05:00', 'CREATE_LOADBALANCER', 1],
      ['2011-08-25T12:00:00-05:00', '2011-08-25T13:00:00-05:00', null, 1],
      ['2011-08-25T13:00:00-05:00', '2011-08-25T14:00:00-05:00', null, 1],
      ['2011-08-25T14:00:00-05:00', '2011-08-25T14:10:00-05:00', null, 1],
      ['2011-08-25T14:10:00-05:00', '2011-08-25T14:10:00-05:00', 'DELETE_LOADBALANCER', 0],
    ]);
    assert.deepEqual([records[0].incomingTransfer, records[0].outgoingTransfer, records[0].numPolls, records[0].averageNumConnections], [100, 2000, 1, 3]);
    assert.ok(records.every((r: any) => r.accountId === 406271 && r.loadBalancerId === 33 && r.vipType === 'SERVICENET' && r.sslMode === 'OFF'));
    assert.equal(records.at(-1).numPolls, 0);

    const ours = await xml(api().get(path, { accept: 'application/xml' }));
    assertSameXmlShape(seedXml('loadbalancers-usage.xml'), ours);
    assert.equal(ours.name, `{${MGMT_NS}}loadBalancerUsageRecords`);
    assert.equal(ours.children[0].attrs.averageNumConnections.includes('.'), true, 'decimals print as 0.0 in XML');
  });
}, { env: CHICAGO, nowMs: Date.parse('2011-08-25T20:00:00Z') });

forEachEngine('seed: account-level usage (public) and the daily billing of all accounts', ({ api }) => {
  test('public account usage has the seed\'s form in JSON and XML', async () => {
    await cluster(api(), 1, 'DEV', 'ORD');
    await host(api(), 1, 1);
    await createLb(api(), { accountId: 548939, id: 2000, name: 'dev-testing', time: '2011-09-01T10:00:00Z', vips: [vip(2000, '10.20.0.1')] });
    await createLb(api(), { accountId: 548939, id: 2001, name: 'other', time: '2011-09-01T10:30:00Z', vips: [vip(2001, '10.20.0.2')] });
    await sample(api(), 1, '2011-09-01T10:40:00Z', [{ accountId: 548939, loadBalancerId: 2000, bytesIn: 5, bytesOut: 7 }], { pid: 1, startTime: '2011-09-01T09:00:00Z' });
    api().clock.now = Date.parse('2011-09-01T14:00:00Z');
    await rollup(api());

    const tenant = await api().tenant(548939);
    const path = '/v1.0/548939/loadbalancers/usage?startTime=2011-09-01T00:00:00Z&endTime=2011-09-01T12:00:00Z';
    const body = await json(api().get(path, { token: tenant }));
    assertSameJsonShape(seedJson('account-billing.json'), body);
    assert.equal(body.accountId, 548939);
    assert.deepEqual(body.accountUsage.accountUsageRecords.map((r: any) => [r.numLoadBalancers, r.numPublicVips, r.numServicenetVips]), [[1, 1, 0], [2, 2, 0]]);
    assert.deepEqual(body.loadBalancerUsages.map((u: any) => [u.loadBalancerId, u.loadBalancerName, u.loadBalancerUsageRecords.length]), [[2000, 'dev-testing', 3], [2001, 'other', 3]]);
    assert.equal(body.loadBalancerUsages[0].loadBalancerUsageRecords[0].incomingTransfer, 5);

    const x = await xml(api().get(path, { token: tenant, accept: 'application/xml' }));
    assertSameXmlShape(seedXml('account-billing-public.xml'), x);
    assert.equal(x.name, `{${PUBLIC_NS}}accountBilling`);
  });

  test('management billing holds one public accountBilling per account, in the management root', async () => {
    const body = await json(api().get('/management/accounts/billing?startTime=2011-09-01&endTime=2011-09-02', { token: api().tokens.billing }));
    assert.equal(body.accountBillings.length, 1);
    assertSameJsonShape(seedJson('account-billing.json'), body.accountBillings[0]);
    // Records lying entirely inside the window: every rolled hour from creation to 14:00.
    assert.deepEqual(body.accountBillings[0].loadBalancerUsages.map((u: any) => u.loadBalancerUsageRecords.length), [4, 4]);
    const x = await xml(api().get('/management/accounts/billing.xml?startTime=2011-09-01&endTime=2011-09-02', { token: api().tokens.billing }));
    assert.equal(x.name, `{${MGMT_NS}}accountBillings`);
    assertSameXmlShape(seedXml('account-billing-public.xml'), x.children[0]);
  });

  test('one load balancer\'s usage: records and links, public namespace', async () => {
    const tenant = await api().tenant(548939);
    const body = await json(api().get('/v1.0/548939/loadbalancers/2000/usage?startTime=2011-09-01&limit=1', { token: tenant }));
    assert.deepEqual(Object.keys(body), ['loadBalancerUsageRecords', 'links']);
    assertSameJsonShape(seedJson('account-billing.json').loadBalancerUsages[0].loadBalancerUsageRecords, body.loadBalancerUsageRecords);
    assert.deepEqual(body.links.map((l: any) => l.link.rel), ['next']);
    const x = await xml(api().get('/v1.0/548939/loadbalancers/2000/usage.xml?startTime=2011-09-01', { token: tenant }));
    assert.equal(x.name, `{${PUBLIC_NS}}loadBalancerUsage`);
    assertSameXmlShape(seedXml('account-billing-public.xml').children[1].children[0], x.children[0]);
  });
}, { env: CHICAGO, nowMs: Date.parse('2011-09-01T11:00:00Z') });

void ok;
