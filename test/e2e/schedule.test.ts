// Jobs never hold up polls (issue 13): `serve` polls a real HAProxy host every second while its
// billing sink takes every batch and never answers. Polls go on at their interval; the export,
// still waiting, is skipped at its next turns (an overrun, counted), never started twice.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { engines } from '../helpers/engines.ts';
import { startApi } from '../helpers/api.ts';
import { cluster, createLb, ok } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy } from '../helpers/haproxy.ts';
import { serve, type RunningServer } from '../../src/server.ts';
import { loadConfig } from '../../src/config.ts';

const [sqlite] = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function series(url: string, name: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => name.test(l)).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('a billing sink that hangs longer than a poll interval never delays a poll', async () => {
  const backend = await startByteServer();
  cleanups.push(() => backend.close());
  const haproxy = await startHaproxy(['4_40', '4_40_S'], backend.port);
  cleanups.push(() => haproxy.stop());
  const offered: http.IncomingMessage[] = [];
  const sink = http.createServer((req) => void offered.push(req)); // takes the batch, never answers
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { sink.closeAllConnections(); sink.close(() => r(undefined)); }));

  const location = await sqlite!.fixture.create();
  cleanups.push(() => sqlite!.fixture.cleanup());
  const setup = await startApi(location);
  await cluster(setup, 1);
  await ok(setup.send('PUT', '/management/hosts/1', { clusterId: 1, name: 'haproxy-1', stats: { socket: haproxy.socket } }));
  await createLb(setup, { accountId: 4, id: 40, time: Date.now() - 5 * 3_600_000 }); // final hours to export
  await setup.close();

  const config = loadConfig({
    LBMETER_DB: location, LBMETER_PORT: '0', LBMETER_POLL_INTERVAL: '1', LBMETER_GRACE: '0', LBMETER_RATE_LIMIT: '0',
    LBMETER_EXPORT_URL: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/events`, LBMETER_EXPORT_TIMEOUT: '60',
  });
  const running: RunningServer = await serve(config, pino({ level: 'silent' }), { api: true, poller: true, jobs: true, demo: false });
  const url = running.url!.replace('0.0.0.0', '127.0.0.1');
  cleanups.push(() => Promise.race([running.stop(), new Promise((r) => setTimeout(r, 2000))]));

  const started = Date.now();
  await new Promise((r) => setTimeout(r, 4500));
  assert.equal(offered.length, 1, 'the export offered its first batch, and waits for an answer that does not come');
  const polls = await series(url, /^lbmeter_host_polls_total\{host="1",result="ok"\}/);
  assert.ok(polls >= 4, `polls went on every second while the export hung: ${polls} in ${Date.now() - started} ms`);
  assert.ok(await series(url, /^lbmeter_job_overruns_total\{name="export"\}/) >= 3, 'the export\'s turns while it hangs are skipped and counted');
  assert.equal(await series(url, /^lbmeter_job_overruns_total\{name="poll"\}/), 0);
  assert.ok(await series(url, /^lbmeter_job_last_success_timestamp_seconds\{name="poll"\}/) * 1000 >= started, 'polls succeed');
  assert.ok(await series(url, /^lbmeter_job_duration_seconds_count\{name="rollup"\}/) >= 1);
});
