// The role matrix of SPEC 2.5 for every endpoint: no token, unknown, revoked and expired tokens,
// each management role, a tenant of the account and a tenant of another account.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../helpers/suite.ts';
import { cluster, createLb, host } from '../helpers/fleet.ts';
import { createToken, revokeToken } from '../../src/store/tokens.ts';
import { startApi } from '../helpers/api.ts';
import { KnownTokens } from '../../src/api/auth.ts';
import { engines } from '../helpers/engines.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const W = 'startTime=2026-11-19&endTime=2026-11-20';
type Who = 'support' | 'admin' | 'billing' | 'tenant' | 'otherTenant';

/** `answers`: the status an allowed caller gets (default 200 or 204). */
interface Row { method: string; path: string; body?: unknown; allowed: Who[]; answers?: number }
const ALL_MGMT: Who[] = ['support', 'admin', 'billing'];
const PUBLIC: Who[] = ['support', 'admin', 'billing', 'tenant'];

const MATRIX: Row[] = [
  { method: 'GET', path: '/management/clusters/1/customercount', allowed: ['support', 'admin'] },
  { method: 'GET', path: '/management/accounts/10/loadbalancers', allowed: ['support', 'admin'] },
  { method: 'GET', path: '/management/accounts/10/extendedloadbalancers', allowed: ['support', 'admin'] },
  { method: 'GET', path: `/management/accounts/billing?${W}`, allowed: ALL_MGMT },
  { method: 'GET', path: `/management/accounts/usage?${W}`, allowed: ALL_MGMT },
  { method: 'GET', path: `/management/loadbalancers/usage?${W}`, allowed: ALL_MGMT },
  { method: 'GET', path: '/v1.0/10/loadbalancers/usage', allowed: PUBLIC },
  { method: 'GET', path: '/v1.0/10/loadbalancers/100/usage', allowed: PUBLIC },
  { method: 'GET', path: '/v1.0/10/loadbalancers/100/usage/current', allowed: PUBLIC },
  { method: 'GET', path: `/v1.0/10/loadbalancers/billable?${W}`, allowed: PUBLIC },
  { method: 'GET', path: '/management/clusters', allowed: ['support', 'admin'] },
  { method: 'GET', path: '/management/hosts', allowed: ['support', 'admin'] },
  { method: 'GET', path: '/management/hosts/1', allowed: ['support', 'admin'] },
  { method: 'GET', path: '/management/usage/anomalies', allowed: ['support', 'admin'] },
  { method: 'GET', path: '/management/usage/summary', allowed: ALL_MGMT },
  { method: 'PUT', path: '/management/clusters/1', body: { name: 'C1', dataCenter: 'ORD' }, allowed: ['admin'] },
  { method: 'PUT', path: '/management/hosts/1', body: { clusterId: 1, name: 'lb-1' }, allowed: ['admin'] },
  { method: 'POST', path: '/management/usage/events', body: { events: [{ id: 'role-ev', type: 'SSL_OFF', time: '2026-11-20T10:00:00Z', accountId: 10, loadBalancerId: 100 }] }, allowed: ['admin'] },
  { method: 'POST', path: '/management/usage/samples', body: { hostId: 1, time: '2026-11-20T10:00:00Z', process: { pid: 1, startTime: '2026-11-01T00:00:00Z' }, loadBalancers: [] }, allowed: ['admin'] },
  { method: 'POST', path: '/management/usage/rollup', body: {}, allowed: ['admin'] },
  { method: 'POST', path: '/management/usage/poll', body: {}, allowed: ['admin'] },
  { method: 'POST', path: '/management/usage/anomalies/999/release', body: {}, allowed: ['admin'], answers: 404 },
  { method: 'POST', path: '/management/usage/anomalies/999/discard', body: {}, allowed: ['admin'], answers: 404 },
];

forEachEngine('role matrix', ({ api }) => {
  const tokens = {} as Record<Who | 'revoked' | 'expired', string>;
  before(async () => {
    await cluster(api(), 1);
    await host(api(), 1, 1);
    await createLb(api(), { accountId: 10, id: 100, time: '2026-11-19T08:00:00Z' });
    const db = api().store.db;
    Object.assign(tokens, {
      support: api().tokens.support, admin: api().tokens.admin, billing: api().tokens.billing,
      tenant: await api().tenant(10), otherTenant: await api().tenant(20),
      expired: (await createToken(db, { roles: ['support', 'service-admin', 'billing'], expiresMs: NOW - 1 })).value,
    });
    const revoked = await createToken(db, { roles: ['support', 'service-admin', 'billing'] });
    await revokeToken(db, revoked.id);
    tokens.revoked = revoked.value;
  });

  const call = (row: Row, token: string | null, accept = 'application/json') => {
    const headers: Record<string, string> = { accept };
    if (token !== null) headers['x-auth-token'] = token;
    if (row.body) headers['content-type'] = 'application/json';
    return fetch(api().url + row.path, { method: row.method, headers, body: row.body ? JSON.stringify(row.body) : undefined });
  };

  for (const row of MATRIX) {
    test(`${row.method} ${row.path}`, async () => {
      for (const [who, token, why] of [[null, null, 'required'], ['unknown', 'lbm_nope', 'not a known token'], ['revoked', tokens.revoked, 'revoked'], ['expired', tokens.expired, 'expired']] as const) {
        const res = await call(row, token);
        assert.equal(res.status, 401, `${who}`);
        const body = await res.json();
        assert.ok(body.unauthorized.message.includes(why), body.unauthorized.message);
      }
      for (const who of ['support', 'admin', 'billing', 'tenant', 'otherTenant'] as Who[]) {
        const res = await call(row, tokens[who]);
        const text = await res.text();
        if (row.allowed.includes(who)) assert.ok(row.answers ? res.status === row.answers : res.status === 200 || res.status === 204, `${who} may: ${res.status} ${text}`);
        else {
          assert.equal(res.status, 403, `${who} may not: ${text}`);
          assert.deepEqual(Object.entries(JSON.parse(text)).map(([k, v]: [string, any]) => [k, v.code]), [['generalFault', 403]]);
        }
      }
      const xml = await call(row, null, 'application/xml');
      assert.match(await xml.text(), /<unauthorized xmlns="http:\/\/docs.openstack.org\/loadbalancers\/api\/v1.0" code="401">/);
    });
  }

  test('/health needs no token', async () => {
    const res = await fetch(`${api().url}/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, 'ok');
  });
}, { nowMs: NOW });

const [sqlite] = await engines();

test('without a valid token, requests count against the address: /health floods and guessed tokens get 413 with Retry-After', async () => {
  const api = await startApi(await sqlite.fixture.create(), { env: { LBMETER_RATE_LIMIT: '5' } });
  try {
    const health: number[] = [];
    for (let i = 0; i < 6; i++) health.push((await fetch(`${api.url}/health`)).status);
    assert.deepEqual(health, [200, 200, 200, 200, 200, 413]);
    const guess = await api.get('/management/clusters', { token: 'lbm_guess' });
    assert.equal(guess.status, 413, 'a guessed token from the same address is limited too');
    assert.ok(Number(guess.headers.get('retry-after')) > 0);
    assert.match(JSON.stringify(await guess.json()), /without a valid token from this address/);
    assert.equal((await api.get('/management/clusters', { token: api.tokens.support })).status, 200, 'a valid token has its own allowance');
  } finally {
    await api.close();
    await sqlite.fixture.cleanup();
  }
});

test("a token revoked by another process is refused once the API's memory of it lapses; a token just created works at once", async () => {
  const api = await startApi(await sqlite.fixture.create());
  try {
    api.api.knownTokens = new KnownTokens(300);
    const made = await createToken(api.store.db, { roles: ['support'] });
    assert.equal((await api.get('/management/clusters', { token: made.value })).status, 200, 'known at its first use');
    await revokeToken(api.store.db, made.id); // as `lbmeter token revoke` does, beside the server
    await new Promise((r) => setTimeout(r, 350));
    const refused = await api.get('/management/clusters', { token: made.value });
    assert.equal(refused.status, 401);
    assert.match((await refused.json()).unauthorized.message, /revoked/);
  } finally {
    await api.close();
    await sqlite.fixture.cleanup();
  }
});

test('a per-token rate limit answers 413 overLimit with Retry-After', async () => {
  const api = await startApi(await sqlite.fixture.create(), { env: { LBMETER_RATE_LIMIT: '3' } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.get('/management/clusters', { token: api.tokens.support })).status);
    assert.deepEqual(statuses, [200, 200, 200, 413]);
    const limited = await api.get('/management/clusters', { token: api.tokens.support, accept: 'application/xml' });
    assert.equal(limited.status, 413);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.match(await limited.text(), /<overLimit [^>]*code="413"><message>rate limit exceeded<\/message>/);
    assert.equal((await api.get('/management/clusters', { token: api.tokens.admin })).status, 200, 'other tokens are not limited');
    // Refused requests count too: a tenant probing other accounts is limited like any caller.
    const tenant = await api.tenant(7);
    const probes: number[] = [];
    for (const account of [8, 9, 10, 11]) probes.push((await api.get(`/v1.0/${account}/loadbalancers/usage`, { token: tenant })).status);
    assert.deepEqual(probes, [403, 403, 403, 413]);
  } finally {
    await api.close();
    await sqlite.fixture.cleanup();
  }
});
