// Hostile input, as a client who means harm or a broken one sends it: every answer is a fault
// of the table (SPEC 2.4) in the format asked for, with a request id, fast, never a 5xx.
//
// First the cases Fastify itself used to answer (a path that is not a valid URL, an over-long
// path parameter, a body nested thousands deep or 20 MB of brackets); then a fuzz (fast-check,
// fixed seed) over every route of /openapi.json with hostile path, query, header and body
// values, in both formats and with every role. POST /management/usage/poll is left out of the
// fuzz: it connects to the hosts the fuzz may have just configured (any URL), and this test
// sends nothing beyond loopback. FUZZ_RUNS and FUZZ_SEED widen a run.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { engines } from '../helpers/engines.ts';
import { ok } from '../helpers/fleet.ts';
import { startApi } from '../helpers/api.ts';
import { parseXml } from '../helpers/xml.ts';
import { buildApp } from '../../src/api/app.ts';

const PUBLIC_NS = 'http://docs.openstack.org/loadbalancers/api/v1.0';
const KINDS: Record<number, string> = { 400: 'badRequest', 401: 'unauthorized', 403: 'generalFault', 404: 'itemNotFound', 405: 'methodNotAllowed', 406: 'generalFault', 413: 'overLimit', 500: 'loadBalancerFault', 503: 'serviceUnavailable' };

const [sqlite] = await engines();
const api = await startApi(await sqlite!.fixture.create(), { env: { LBMETER_RATE_LIMIT: '0' } });
after(async () => {
  await api.close();
  await sqlite!.fixture.cleanup();
});

/** The answer is a fault of the table in the asked format, with its code, a request id and a charset. */
async function assertFault(res: Response, format: 'json' | 'xml', status: number, says?: RegExp): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, text.slice(0, 300));
  assert.ok(res.headers.get('x-request-id'), 'a request id');
  assert.match(res.headers.get('content-type') ?? '', format === 'json' ? /^application\/json; charset=utf-8$/ : /^application\/xml; charset=utf-8$/);
  let message: string;
  if (format === 'json') {
    const body = JSON.parse(text);
    assert.deepEqual(Object.keys(body), [KINDS[status]]);
    assert.equal(body[KINDS[status]!].code, status);
    message = body[KINDS[status]!].message;
  } else {
    const root = parseXml(text);
    assert.equal(root.name, `{${PUBLIC_NS}}${KINDS[status]}`);
    assert.equal(root.attrs.code, String(status));
    message = root.children.map((c) => c.text ?? '').join(' ');
  }
  assert.doesNotMatch(text, /FST_ERR|statusCode|Internal Server Error|at \w+ \(/, 'nothing of the framework\'s own shape');
  if (says) assert.match(message, says);
  return message;
}

const send = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => fetch(`${api.url}${path}`, init);

test('errors raised before a route runs: the fault table, the asked format, a request id, never the URL whole', async () => {
  for (const format of ['json', 'xml'] as const) {
    const headers = { 'x-auth-token': api.tokens.all, accept: `application/${format}` };
    const long = await assertFault(await send(`/v1.0/${'1'.repeat(150)}/loadbalancers/usage`, { headers }), format, 400, /accountId: expected a positive whole number, received "1{64}…" \(150 characters\)/);
    assert.ok(!long.includes('1'.repeat(100)), 'the over-long segment is not echoed');
    // Every path parameter is named, as in any other 400.
    const x = 'x'.repeat(101);
    for (const [path, name] of [[`/v1.0/5/loadbalancers/${x}/usage`, 'loadBalancerId'], [`/management/clusters/${x}/customercount`, 'clusterId'], [`/management/hosts/${x}`, 'hostId'],
      [`/management/usage/records/${x}/sources?loadBalancerId=1`, 'recordId'], [`/management/accounts/${x}/loadbalancers`, 'accountId']] as const) {
      await assertFault(await send(path, { headers }), format, 400, new RegExp(`^${name}: expected a positive whole number, received "x{64}…" \\(101 characters\\)$`));
    }
    await assertFault(await send(`/no/such/${x}`, { headers }), format, 404, /^no resource at GET "\/no\/such\/x+…"$/);
    await assertFault(await send('/v1.0/%E0%A4%A/loadbalancers/usage', { headers }), format, 400, /not a valid URL/);
    await assertFault(await send('/management/clusters/%ZZ', { headers }), format, 400, /not a valid URL/);
    await assertFault(await send(`/v1.0/%ZZ/loadbalancers/usage.${format}`, { headers: { 'x-auth-token': api.tokens.all } }), format, 400, /not a valid URL/);
  }
});

test('bodies nested deep or far too large are refused at once, and the server goes on answering', async () => {
  const headers = { 'x-auth-token': api.tokens.all, 'content-type': 'application/json', accept: 'application/json' };
  for (const body of ['['.repeat(20_000) + ']'.repeat(20_000), '{"events":' + '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_001), '{"events":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}']) {
    const started = Date.now();
    await assertFault(await send('/management/usage/events', { method: 'POST', headers, body }), 'json', 400, /nested deeper than 16 levels/);
    assert.ok(Date.now() - started < 2000);
  }
  const started = Date.now();
  const flood = send('/management/usage/events', { method: 'POST', headers, body: '['.repeat(20 * 2 ** 20) });
  const health = await send('/health');
  assert.equal(health.status, 200, 'answered meanwhile');
  await assertFault(await flood, 'json', 413, /body: larger than 16777216 bytes/);
  assert.ok(Date.now() - started < 2000, `20 MB of brackets refused in ${Date.now() - started} ms`);
  // A cluster is a few bytes: a megabyte is plenty, and more is refused.
  await assertFault(await send('/management/clusters/1', { method: 'PUT', headers, body: JSON.stringify({ name: 'x'.repeat(2 ** 20), dataCenter: 'ORD' }) }), 'json', 413, /larger than 1048576 bytes/);
  await assertFault(await send('/management/usage/events', { method: 'POST', headers, body: '{"events":[{"__proto__":{"x":1}}]}' }), 'json', 400);
});

test('a sample of 100k load balancers still fits its route\'s body limit', async () => {
  await send('/management/clusters/1', { method: 'PUT', headers: { 'x-auth-token': api.tokens.all, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'C1', dataCenter: 'ORD' }) });
  await send('/management/hosts/9', { method: 'PUT', headers: { 'x-auth-token': api.tokens.all, 'content-type': 'application/json' }, body: JSON.stringify({ clusterId: 1, name: 'agent' }) });
  const loadBalancers = Array.from({ length: 100_000 }, (_, i) => ({ accountId: 100_000 + (i % 5000), loadBalancerId: i + 1, bytesIn: '123456789012', bytesOut: '987654321098', bytesInSsl: '0', bytesOutSsl: '0', connections: 12, connectionsSsl: 0 }));
  const body = JSON.stringify({ hostId: 9, time: new Date().toISOString(), process: { pid: 4242, startTime: '2026-01-01T00:00:00Z' }, loadBalancers });
  assert.ok(body.length > 16 * 10 ** 6, `${body.length} bytes: far over the 1 MB of the routes that do not say otherwise`);
  const res = await send('/management/usage/samples', { method: 'POST', headers: { 'x-auth-token': api.tokens.all, 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200, (await res.clone().text()).slice(0, 300));
});

test('JSON-only endpoints asked for XML say so in XML; GET clusters and hosts are JSON-only like the rest of the write side', async () => {
  // One host by id too (it answered 200 in JSON to an XML request while its siblings said 406).
  await ok(api.send('PUT', '/management/clusters/1', { name: 'C1', dataCenter: 'ORD' }));
  await ok(api.send('PUT', '/management/hosts/1', { clusterId: 1, name: 'h1' }));
  for (const path of ['/management/clusters', '/management/hosts', '/management/hosts/1', '/management/usage/anomalies', '/management/usage/summary', '/management/usage/summary/loadbalancers/1']) {
    await assertFault(await send(path, { headers: { 'x-auth-token': api.tokens.all, accept: 'application/xml' } }), 'xml', 406, /answers in JSON only/);
  }
});

test('a route that declares no access rule stops the start', async () => {
  const { app } = await buildApp({ store: api.store, config: api.config });
  try {
    assert.throws(() => app.route({ method: 'GET', url: '/forgotten', handler: async () => 'open to all' }), /GET \/forgotten declares no access rule/);
  } finally {
    await app.close();
  }
});

/** A path segment percent-encoded; a lone surrogate (no UTF-8 form) as the bytes a broken client sends for it. */
function encoded(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value.split('').map((ch) => (/[\uD800-\uDFFF]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
  }
}

/** Values a hostile or broken client puts anywhere. */
const hostile = fc.oneof(
  fc.constantFrom('', '0', '-1', '1.5', '1e3', '9'.repeat(40), 'null', 'true', '[]', '{}', '..', '../../etc/passwd', '%', '%00', '%ZZ', '<x>&amp;', '"quoted"', "' or 1=1 --", '\u0000', '\uD800', '😀'.repeat(50), 'a'.repeat(5000), '2026-02-30', '2026-11-20T25:00:00Z', '-9999-01-01', '1'.repeat(16)),
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
);
const anyToken = fc.constantFrom(...Object.values(api.tokens), await api.tenant(10), 'lbm_not_a_token', '', 'x'.repeat(300), undefined as unknown as string);
const anyAccept = fc.constantFrom('application/json', 'application/xml', '*/*', 'text/html', 'application/xml;q=0.9, application/json;q=0.1', 'garbage/;;;', undefined as unknown as string);
const anyBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ events: fc.array(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  hostile,
);

test('fuzz: every route of /openapi.json, hostile everything, both formats, every role: no 5xx, faults in shape, under 2 s', { timeout: 300_000 }, async () => {
  const doc = await (await send('/openapi.json')).json();
  const operations: { method: string; path: string; params: string[]; query: string[] }[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (path === '/management/usage/poll') continue;
      const parameters: { name: string; in: string }[] = op.parameters ?? [];
      operations.push({ method: method.toUpperCase(), path, params: parameters.filter((p) => p.in === 'path').map((p) => p.name), query: parameters.filter((p) => p.in === 'query').map((p) => p.name) });
    }
  }
  assert.ok(operations.length >= 25, `${operations.length} operations`);
  const request = fc.record({
    operation: fc.constantFrom(...operations),
    pathValues: fc.array(hostile, { minLength: 4, maxLength: 4 }),
    rawPath: fc.boolean(),
    query: fc.array(fc.tuple(fc.oneof(fc.constantFrom('startTime', 'endTime', 'offset', 'limit', 'status', 'kind', 'top'), fc.string({ maxLength: 10 })), hostile), { maxLength: 4 }),
    suffix: fc.constantFrom('', '', '.json', '.xml'),
    token: anyToken,
    accept: anyAccept,
    body: anyBody,
    contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml'),
  });
  let count = 0;
  await fc.assert(fc.asyncProperty(request, async (r) => {
    count++;
    const op = r.operation;
    let path = op.path;
    op.params.forEach((name, i) => (path = path.replace(`{${name}}`, r.rawPath ? r.pathValues[i]!.replace(/[/?#\s]/g, '_') : encoded(r.pathValues[i]!))));
    const search = new URLSearchParams(r.query).toString();
    const url = `${path}${op.method === 'GET' ? r.suffix : ''}${search ? `?${search}` : ''}`;
    const headers: Record<string, string> = {};
    if (r.token !== undefined) headers['x-auth-token'] = r.token;
    if (r.accept !== undefined) headers.accept = r.accept;
    const hasBody = op.method === 'POST' || op.method === 'PUT';
    if (hasBody) headers['content-type'] = r.contentType;
    const started = Date.now();
    let res: Response;
    try {
      res = await fetch(`${api.url}${url}`, { method: op.method, headers, ...(hasBody ? { body: r.body } : {}) });
    } catch (err) {
      // A URL fetch itself refuses to send (an invalid header value) never reached the server.
      if (err instanceof TypeError) return;
      throw err;
    }
    const text = await res.text();
    const elapsed = Date.now() - started;
    const label = `${op.method} ${url.slice(0, 200)} accept=${r.accept} -> ${res.status} ${text.slice(0, 200)}`;
    assert.ok(res.status < 500, label);
    assert.ok(elapsed < 2000, `${label}: ${elapsed} ms`);
    assert.ok(res.headers.get('x-request-id'), label);
    if (res.status < 400) return;
    const type = res.headers.get('content-type') ?? '';
    assert.match(type, /^application\/(json|xml); charset=utf-8$/, label);
    if (type.startsWith('application/json')) {
      const body = JSON.parse(text);
      const kind = Object.keys(body);
      assert.deepEqual(kind, [KINDS[res.status]], label);
      assert.equal(body[kind[0]!].code, res.status, label);
    } else {
      const root = parseXml(text);
      assert.equal(root.name, `{${PUBLIC_NS}}${KINDS[res.status]}`, label);
      assert.equal(root.attrs.code, String(res.status), label);
    }
    // The format asked for: XML when the suffix or the only acceptable type says so.
    const suffix = op.method === 'GET' ? r.suffix : '';
    const askedXml = suffix === '.xml' || (suffix === '' && (r.accept === 'application/xml' || r.accept?.startsWith('application/xml;')));
    if (askedXml && !url.startsWith('/openapi') && !url.startsWith('/metrics') && !url.startsWith('/health')) assert.match(type, /^application\/xml/, label);
  }), { seed: Number(process.env.FUZZ_SEED ?? 20261129), numRuns: Number(process.env.FUZZ_RUNS ?? 3000), endOnFailure: true, reporter: (details) => {
    if (details.failed) throw new Error(`${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\ncounterexample: ${fc.stringify(details.counterexample)}`);
  } });
  assert.ok(count >= 3000 || process.env.FUZZ_RUNS !== undefined);
});

test('requests the HTTP parser refuses (headers over 16 KB, a malformed request line) are faults of the table too', async () => {
  const net = await import('node:net');
  const { port } = new URL(api.url);
  const raw = (request: string) => new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (d) => (answer += d));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
  for (const request of [
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    'GET /health HTTP/9.Q\r\nHost: x\r\n\r\n',
    'NOT A REQUEST\r\n\r\n',
  ]) {
    const answer = await raw(request);
    const [head, body] = answer.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 400 /, answer.slice(0, 200));
    assert.match(head!, /content-type: application\/json; charset=utf-8/i);
    const fault = JSON.parse(body!);
    assert.equal(fault.badRequest.code, 400);
    assert.doesNotMatch(body!, /statusCode|Client Error/);
  }
});
