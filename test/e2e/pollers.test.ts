// Three pollers on one PostgreSQL split four real HAProxy hosts: each host is read by one of
// them, the shares differ by one host at most, and when one poller is killed its hosts are
// dealt to the other two within a few of their cycles. Counted in poll cycles, not seconds.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, createLb, ok } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, type HaproxyHost } from '../helpers/haproxy.ts';
import { livePollers } from '../../src/ingest/pollerShare.ts';

const BIN = new URL('../../bin/lbmeter.js', import.meta.url).pathname;
const postgres = (await engines()).find((e) => e.fixture.name === 'postgres')!;

interface Poller {
  child: ChildProcess;
  /** The hosts read in each poll cycle, in order. */
  cycles: number[][];
}

const until = async (what: string, condition: () => boolean | Promise<boolean>, seconds = 30) => {
  for (let waited = 0; !(await condition()); waited += 0.1) {
    assert.ok(waited < seconds, `waited ${seconds} s for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('three pollers on one PostgreSQL', { skip: postgres.skip }, () => {
  let backend: Awaited<ReturnType<typeof startByteServer>>;
  const hosts: HaproxyHost[] = [];
  const pollers: Poller[] = [];
  let api: TestApi;

  before(async () => {
    backend = await startByteServer();
    for (let i = 0; i < 4; i++) hosts.push(await startHaproxy(['9_90'], backend.port));
    api = await startApi(await postgres.fixture.create());
  });

  after(async () => {
    for (const p of pollers) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await api?.close();
    for (const h of hosts) await h.stop();
    await backend?.close();
    await postgres.fixture.cleanup();
  });

  test('each host read by one poller, shares within one host, a killed poller\'s hosts taken over', async () => {
    await cluster(api, 1);
    for (const [i, h] of hosts.entries()) await ok(api.send('PUT', `/management/hosts/${i + 1}`, { clusterId: 1, name: `haproxy-${i + 1}`, stats: { socket: h.socket } }));
    await createLb(api, { accountId: 9, id: 90, time: Date.now() - 60_000 });

    const env = { ...process.env, LBMETER_DB: api.config.db, LBMETER_POLL_INTERVAL: '1', LBMETER_LOG_LEVEL: 'debug' };
    for (let i = 0; i < 3; i++) {
      const poller: Poller = { child: spawn(process.execPath, [BIN, 'serve', '--no-api', '--no-jobs'], { env, stdio: ['ignore', 'ignore', 'pipe'] }), cycles: [] };
      let buffered = '';
      poller.child.stderr!.on('data', (d) => {
        buffered += d;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const entry = JSON.parse(line);
          if (entry.msg === 'poll cycle') poller.cycles.push(entry.polled);
        }
      });
      pollers.push(poller);
    }
    await until('three live pollers', async () => (await livePollers(api.store.db)).length === 3);

    // Steady state: over three cycles of every poller, each host is read by exactly one.
    const steady = async (group: Poller[]) => {
      const from = group.map((p) => p.cycles.length + 1); // skip a cycle that may predate the current membership
      await until('three more cycles of each poller', () => group.every((p, i) => p.cycles.length >= from[i]! + 3));
      return group.map((p, i) => new Set(p.cycles.slice(from[i]!, from[i]! + 3).flat()));
    };
    const shares = await steady(pollers);
    const readers = (host: number) => shares.filter((s) => s.has(host)).length;
    assert.deepEqual([1, 2, 3, 4].map(readers), [1, 1, 1, 1], `each host read by one poller: ${shares.map((s) => [...s])}`);
    assert.deepEqual(shares.map((s) => s.size).sort(), [1, 1, 2], 'four hosts dealt to three pollers');

    // Kill (no goodbye) the poller with two hosts; the other two take them over.
    const victim = pollers[shares.findIndex((s) => s.size === 2)]!;
    const orphaned = [...shares[pollers.indexOf(victim)]!];
    const survivors = pollers.filter((p) => p !== victim);
    const cyclesAtKill = survivors.map((p) => p.cycles.length);
    victim.child.kill('SIGKILL');
    await until('the orphaned hosts read again', () => orphaned.every((h) => survivors.some((p, i) => p.cycles.slice(cyclesAtKill[i]!).flat().includes(h))));
    const takeover = Math.max(...survivors.map((p, i) => p.cycles.slice(cyclesAtKill[i]!).findIndex((c) => orphaned.some((h) => c.includes(h)))));
    assert.ok(takeover >= 0 && takeover <= 3, `taken over within a few cycles (membership lapses after half an interval): ${takeover}`);

    const after = await steady(survivors);
    assert.deepEqual([1, 2, 3, 4].map((h) => after.filter((s) => s.has(h)).length), [1, 1, 1, 1]);
    assert.deepEqual(after.map((s) => s.size), [2, 2]);

    for (const p of survivors) {
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
    assert.deepEqual(await livePollers(api.store.db), [], 'stopped pollers leave; the killed one has lapsed');
  });
});
