// /openapi.json is a valid OpenAPI 3.1 document that lists every route of the API, and /docs
// shows it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { engines } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';
import { allRoutes } from '../../src/api/routes/index.ts';

const [sqlite] = await engines();
const api = await startApi(await sqlite!.fixture.create());
after(async () => {
  await api.close();
  await sqlite!.fixture.cleanup();
});

test('the document is valid OpenAPI 3.1 and needs no token', async () => {
  const res = await fetch(`${api.url}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.openapi, '3.1.0');
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  assert.deepEqual(doc.components.securitySchemes.token, { type: 'apiKey', in: 'header', name: 'X-Auth-Token' });
});

test('every route of the API is in it, with its method, token and formats', async () => {
  const doc = await (await fetch(`${api.url}/openapi.json`)).json();
  const routes = allRoutes(api.api);
  assert.ok(routes.length >= 24);
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const op = doc.paths[path]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${path} is documented`);
    assert.ok(op.summary, `${route.method} ${path} has a summary`);
    const open = (route.config as { access?: { kind: string } }).access?.kind === 'open';
    assert.deepEqual(op.security, open ? [] : [{ token: [] }], `${route.method} ${path} security`);
  }
  const documented = Object.values(doc.paths).reduce((n: number, item) => n + Object.keys(item as object).length, 0);
  assert.equal(documented, routes.length, 'nothing else (no 405 catch-alls, no docs assets)');
  const usage = doc.paths['/v1.0/{accountId}/loadbalancers/{loadBalancerId}/usage'].get;
  assert.deepEqual(Object.keys(usage.responses['200'].content), ['application/json', 'application/xml']);
  assert.match(usage.description, /tenant token of the account in the path/);
  assert.deepEqual(Object.keys(doc.paths['/management/usage/events'].post.responses['200'].content), ['application/json']);
});

test('/docs shows the document in Swagger UI, without a token', async () => {
  const page = await fetch(`${api.url}/docs/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await page.text(), /swagger-ui/i);
  const json = await (await fetch(`${api.url}/docs/json`)).json();
  assert.equal(json.openapi, '3.1.0');
});

test('the document is JSON only', async () => {
  const res = await fetch(`${api.url}/openapi.xml`);
  assert.equal(res.status, 406);
});

test('/ sends a browser to the dashboard, without a token', async () => {
  const res = await fetch(`${api.url}/`, { redirect: 'manual', headers: { accept: 'text/html' } });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/dashboard');
  const followed = await fetch(`${api.url}/`);
  assert.equal(followed.status, 200);
  assert.match(followed.headers.get('content-type') ?? '', /^text\/html/);
});
