// Three pollers on one PostgreSQL split four real HAProxy hosts: each host is read by one of
// them, the shares differ by one host at most, and when one poller is killed its hosts are
// dealt to the other two within a few of their cycles. Counted in poll cycles, not seconds. And
// a poller killed while HAProxy holds its read: its host is read again within an interval, the
// pre-reload hook answers within the poll timeout, and every byte is counted once.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { cluster, createLb, ok } from '../helpers/fleet.ts';
import { startByteServer, startHaproxy, transfer, type HaproxyHost } from '../helpers/haproxy.ts';
import { readingTotalsOf } from '../../src/store/readings.ts';
import { livePollers } from '../../src/ingest/pollerShare.ts';
import { BIN } from '../helpers/cli.ts';

const postgres = (await engines()).find((e) => e.fixture.name === 'postgres')!;

interface Poller {
  child: ChildProcess;
  /** The hosts read in each poll cycle, in order. */
  cycles: number[][];
  /** When each cycle ended (its log line's time, epoch ms). */
  cycleEndMs: number[];
}

const until = async (what: string, condition: () => boolean | Promise<boolean>, seconds = 30) => {
  for (let waited = 0; !(await condition()); waited += 0.1) {
    assert.ok(waited < seconds, `waited ${seconds} s for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Three `serve --no-api --no-jobs` processes polling every `intervalS`, once all three are members. */
async function startPollers(api: TestApi, intervalS: number, env: Record<string, string> = {}): Promise<Poller[]> {
  const started: Poller[] = [];
  const childEnv = { ...process.env, LBMETER_DB: api.config.db, LBMETER_POLL_INTERVAL: String(intervalS), LBMETER_LOG_LEVEL: 'debug', ...env };
  for (let i = 0; i < 3; i++) {
    const poller: Poller = { child: spawn(process.execPath, [BIN, 'serve', '--no-api', '--no-jobs'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] }), cycles: [], cycleEndMs: [] };
    let buffered = '';
    poller.child.stderr!.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line);
        if (entry.msg === 'poll cycle') {
          poller.cycles.push(entry.polled);
          poller.cycleEndMs.push(entry.time);
        }
      }
    });
    started.push(poller);
  }
  await until('three live pollers', async () => (await livePollers(api.store.db)).length === 3);
  return started;
}

async function stopPollers(group: Poller[]): Promise<void> {
  for (const p of group) {
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
}

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

    pollers.push(...(await startPollers(api, 1)));

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

    await stopPollers(survivors);
    assert.deepEqual(await livePollers(api.store.db), [], 'stopped pollers leave; the killed one has lapsed');
  });

  test('the owner of a host killed -9 while HAProxy holds its read: the host is read again within an interval, pre-reload within the timeout, every byte counted once', async () => {
    const INTERVAL_S = 2;
    const TIMEOUT_S = 6;
    for (const h of hosts) await transfer(h.ports.get('9_90')!, 3_000, 70_000);
    const group = await startPollers(api, INTERVAL_S, { LBMETER_POLL_TIMEOUT: String(TIMEOUT_S) });
    pollers.push(...group);
    const from = group.map((p) => p.cycles.length + 1);
    await until('two cycles of each poller', () => group.every((p, i) => p.cycles.length >= from[i]! + 2));
    const owner = group.find((p, i) => p.cycles.slice(from[i]!).flat().includes(1))!;
    assert.ok(owner, 'host 1 has a reader');

    // Hold HAProxy still: the owner's next read of host 1 connects and waits for an answer.
    const paused = hosts[0]!;
    process.kill(paused.pid(), 'SIGSTOP');
    try {
      await until('the owner reading host 1', async () => {
        const lease = await api.store.db.selectFrom('leases').selectAll().where('name', '=', 'poll-host:1').executeTakeFirst();
        return lease?.holder.split('/')[1] === String(owner.child.pid);
      }, 10);
      await new Promise((r) => setTimeout(r, 200)); // well inside the read
      owner.child.kill('SIGKILL');
    } finally {
      process.kill(paused.pid(), 'SIGCONT');
    }
    const killedAtMs = Date.now();
    const survivors = group.filter((p) => p !== owner);
    const cyclesAtKill = survivors.map((p) => p.cycles.length);

    // The pre-reload hook, run now, answers within the poll timeout (the dead reader's lease lapses first).
    const hook = await new Promise<{ code: number | null; out: string; ms: number }>((resolve) => {
      const started = performance.now();
      const child = spawn(process.execPath, [BIN, 'poll', '--pre-reload', '1'], { env: { ...process.env, LBMETER_DB: api.config.db, LBMETER_POLL_TIMEOUT: String(TIMEOUT_S) } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out, ms: performance.now() - started }));
    });
    assert.equal(hook.code, 0, hook.out);
    assert.match(hook.out, /^1\thaproxy-1\t(ok 1 load balancers|left to the process reading it now)/);
    assert.ok(hook.ms < TIMEOUT_S * 1000, `pre-reload answered in ${Math.round(hook.ms)} ms (timeout ${TIMEOUT_S} s)`);

    await until('a survivor reading host 1', () => survivors.some((p, i) => p.cycles.slice(cyclesAtKill[i]!).flat().includes(1)), 20);
    // From the kill to the end of the first survivor's cycle that read host 1 (not to when this
    // test looked: the pre-reload hook above runs in between, a process start of its own).
    const readAgainMs = survivors.flatMap((p) => p.cycles.flatMap((c, j) => (p.cycleEndMs[j]! >= killedAtMs && c.includes(1) ? [p.cycleEndMs[j]!] : [])));
    const takeoverMs = Math.min(...readAgainMs) - killedAtMs;
    // The dead member and its read lease lapse within half an interval; the next cycle reads the host.
    assert.ok(takeoverMs < 2 * INTERVAL_S * 1000, `host 1 read again ${Math.round(takeoverMs)} ms after the kill (interval ${INTERVAL_S} s)`);

    // More traffic, then every host read once more after it: the stored readings bill exactly
    // what HAProxy counted, no byte twice, none lost.
    for (const h of hosts) await transfer(h.ports.get('9_90')!, 5_000, 11_000);
    for (const h of hosts) await h.settle();
    const cycles = survivors.map((p) => p.cycles.length);
    await until('every host read after the traffic', () => [1, 2, 3, 4].every((h) => survivors.some((p, i) => p.cycles.slice(cycles[i]! + 1).flat().includes(h))), 20);
    await stopPollers(survivors);
    let counted = { bytesIn: 0n, bytesOut: 0n };
    for (const h of hosts) {
      const c = (await h.counters()).get('9_90')!;
      counted = { bytesIn: counted.bytesIn + c.bytesIn, bytesOut: counted.bytesOut + c.bytesOut };
    }
    const billed = (await readingTotalsOf(api.store.db, [90], 0, Date.now() + 3_600_000)).get(90)!;
    assert.deepEqual({ bytesIn: billed.bytesIn, bytesOut: billed.bytesOut }, counted);
  });
});
