// The chaos soak (issue 20): real HAProxy hosts in TCP mode in front of a byte server, clients
// whose own byte counts are the truth, and two lbmeter processes polling them through a store
// link the soak breaks, while it reloads HAProxy through the pre-reload hook, kills lbmeter
// processes (-9) and freezes them (SIGSTOP), takes the store away and slows its link, crashes
// HAProxy after a drained read, and posts late and duplicated events. At the end every load
// balancer's records must carry exactly the bytes its clients moved, and the final hours must
// reconcile. Everything it starts listens on loopback and is stopped at the end.
//
//   npm run soak [-- --seconds 300] [-- --seed 12345]
//
// A seed (printed at the start) replays the same choices of action, host and timing; the
// machine's scheduling still varies between runs.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';
import { engines } from '../helpers/engines.ts';
import { startApi, type TestApi } from '../helpers/api.ts';
import { startByteServer, startHaproxy, transfer, type HaproxyHost } from '../helpers/haproxy.ts';
import { BIN } from '../helpers/cli.ts';
import { startStoreProxy } from './storeProxy.ts';
import { openStore } from '../../src/store/store.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { reconcile, type Reconciliation } from '../../src/query/reconciliation.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { floorHour, HOUR_MS } from '../../src/domain/time.ts';

export interface SoakOptions {
  seconds: number;
  seed: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  seed: number;
  transfers: number;
  actions: Record<string, number>;
  /** Per load balancer: the clients' bytes in and out, and what its records carry. */
  loadBalancers: { id: number; truth: { in: bigint; out: bigint }; billed: { in: bigint; out: bigint } }[];
  reconciliation: Reconciliation;
  /** Bytes held in anomalies at the end (none expected: nothing here is late, huge or deleted). */
  heldBytes: bigint;
  /** What went wrong that the soak itself did not intend (a transfer cut, a process that died on its own). */
  surprises: string[];
}

const ACCOUNT = 7000;
const LBS = [701, 702, 703, 704, 705, 706];
const FRONTENDS = LBS.map((lb) => `${ACCOUNT}_${lb}`);
const WORKERS_PER_HOST = 2;

/** mulberry32: a small seeded generator, so a seed replays the soak's choices. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const rand = generator(options.seed);
  const postgres = (await engines()).find((e) => e.fixture.name === 'postgres')!;
  if (postgres.skip) throw new Error(`the soak needs PostgreSQL: ${postgres.skip}`);
  const surprises: string[] = [];
  const actions: Record<string, number> = {};
  const count = (name: string) => (actions[name] = (actions[name] ?? 0) + 1);
  const cleanups: (() => Promise<unknown>)[] = [];

  try {
    const backend = await startByteServer();
    cleanups.push(() => backend.close());
    const hosts: HaproxyHost[] = [];
    for (let i = 0; i < 2; i++) {
      const h = await startHaproxy(FRONTENDS, backend.port);
      cleanups.push(() => h.stop());
      hosts.push(h);
    }
    const location = await postgres.fixture.create();
    cleanups.push(() => postgres.fixture.cleanup());
    const proxy = await startStoreProxy(Number(new URL(location).port || 5432));
    cleanups.push(() => proxy.close());
    const proxied = Object.assign(new URL(location), { port: String(proxy.port) }).toString();

    // The control plane's API (in this process), reaching the store through the same link.
    const api: TestApi = await startApi(proxied);
    cleanups.push(() => api.close());
    Object.defineProperty(api.clock, 'now', { get: () => Date.now() });
    const post = async (method: string, path: string, body: unknown) => {
      for (let attempt = 0; ; attempt++) {
        const res = await api.send(method, path, body).catch(() => undefined);
        if (res?.ok) return res.json();
        if (attempt > 100) throw new Error(`${method} ${path}: ${res?.status} ${await res?.text()}`);
        await sleep(200); // the store is away: try again, as a control plane would
      }
    };
    await post('PUT', '/management/clusters/1', { name: 'SOAK', dataCenter: 'ORD' });
    for (const [i, h] of hosts.entries()) await post('PUT', `/management/hosts/${i + 1}`, { clusterId: 1, name: `haproxy-${i + 1}`, stats: { socket: h.socket } });
    const start = Date.now();
    const creates = LBS.map((lb) => ({
      id: `soak-create-${lb}`, type: 'CREATE_LOADBALANCER', time: new Date(start - 60_000).toISOString(), accountId: ACCOUNT, loadBalancerId: lb,
      loadBalancer: { name: `soak-${lb}`, protocol: 'TCP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: lb * 10, address: `10.70.0.${lb % 250}`, ipVersion: 'IPV4', type: 'PUBLIC' }] },
    }));
    await post('POST', '/management/usage/events', { events: creates });
    await post('POST', '/management/usage/events', { events: creates }); // a retry: duplicates

    // Two lbmeter processes: pollers and jobs, no API.
    const env = { ...process.env, LBMETER_DB: proxied, LBMETER_POLL_INTERVAL: '1', LBMETER_POLL_TIMEOUT: '2', LBMETER_LOG_LEVEL: 'fatal' };
    const servers: { child: ChildProcess; stopped: boolean; killed: boolean }[] = [];
    let running = true;
    // Supervised as systemd does (Restart=on-failure): a process that cannot reach its store at
    // start exits 1 with one line, and is started again a second later. Any other exit is a surprise.
    const launch = (slot: number) => {
      const child = spawn(process.execPath, [BIN, 'serve', '--no-api'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const entry = { child, stopped: false, killed: false };
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-500)));
      child.on('exit', (code, signal) => {
        if (entry.killed || !running) return;
        if (code === 1 && /the store at .* is not usable/.test(stderr)) count('lbmeter restarted: store away at its start');
        else surprises.push(`lbmeter process ${slot} exited on its own (${code ?? signal}): ${stderr.trim()}`);
        setTimeout(() => running && servers[slot]?.child === child && launch(slot), 1000);
      });
      servers[slot] = entry;
    };
    launch(0);
    launch(1);
    const cli = async (args: string[], store = proxied) => {
      try {
        await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...env, LBMETER_DB: store }, timeout: 60_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? 1;
      }
    };

    // Traffic: each host's clients move bytes through random frontends; what completes is the truth.
    const truth = new Map(LBS.map((lb) => [lb, { in: 0n, out: 0n }]));
    let transfers = 0;
    const traffic = hosts.map(() => ({ paused: false, inflight: new Set<Promise<void>>() }));
    const workers = hosts.flatMap((h, i) => Array.from({ length: WORKERS_PER_HOST }, async () => {
      const state = traffic[i]!;
      while (running) {
        if (state.paused) {
          await sleep(20);
          continue;
        }
        const lb = LBS[randomInt(LBS.length)]!;
        const up = 16 + randomInt(20_000);
        const down = randomInt(20_000);
        const moving = transfer(h.ports.get(`${ACCOUNT}_${lb}`)!, up, down).then(() => {
          const t = truth.get(lb)!;
          t.in += BigInt(up);
          t.out += BigInt(down);
          transfers++;
        }, (err: Error) => {
          surprises.push(`a transfer through haproxy-${i + 1} failed: ${err.message}`);
        });
        state.inflight.add(moving);
        await moving;
        state.inflight.delete(moving);
        await sleep(randomInt(1, 4)); // room for lbmeter and the tests beside this one on 2 cores
      }
    }));
    /** No transfer through the host until `fn` is done, and none in flight when it starts. */
    const drained = async (i: number, fn: () => Promise<void>) => {
      const state = traffic[i]!;
      state.paused = true;
      await Promise.all([...state.inflight]);
      await hosts[i]!.settle();
      try {
        await fn();
      } finally {
        state.paused = false;
      }
    };

    const chaos: Record<string, () => Promise<void>> = {
      // The documented hook: read the host, and reload only if that read happened.
      async reload() {
        const i = rand.int(0, 1);
        await drained(i, async () => {
          if ((await cli(['poll', '--pre-reload', String(i + 1)])) === 0) {
            await hosts[i]!.reload();
            count('reload');
          } else count('reload refused by the hook');
        });
      },
      async crashHaproxy() {
        const i = rand.int(0, 1);
        await drained(i, async () => {
          for (let tries = 0; tries < 20; tries++) {
            if ((await cli(['poll', '--host', String(i + 1)])) === 0) {
              await hosts[i]!.crash();
              count('haproxy crash after a drained read');
              return;
            }
            await sleep(500);
          }
        });
      },
      async kill9() {
        const slot = rand.int(0, 1);
        const s = servers[slot]!;
        if (s.stopped) return;
        s.killed = true;
        s.child.kill('SIGKILL');
        await new Promise((r) => (s.child.exitCode !== null || s.child.signalCode !== null ? r(undefined) : s.child.once('exit', r)));
        await sleep(rand.int(0, 1500));
        launch(slot);
        count('lbmeter kill -9');
      },
      async freeze() {
        const s = servers[rand.int(0, 1)]!;
        if (s.stopped) return;
        s.stopped = true;
        s.child.kill('SIGSTOP');
        await sleep(rand.int(1000, 6000));
        s.child.kill('SIGCONT');
        s.stopped = false;
        count('lbmeter SIGSTOP');
      },
      async outage() {
        await proxy.outage(rand.int(500, 4000));
        count('store outage');
      },
      async slowStore() {
        await proxy.slow(rand.int(20, 150), rand.int(2000, 6000));
        count('slow store link');
      },
      // Late (in the past, in a provisional hour) and duplicated: records split, totals unchanged.
      async lateEvent() {
        const lb = rand.pick(LBS);
        const type = rand.pick(['CREATE_VIRTUAL_IP', 'SSL_MIXED_ON', 'SSL_OFF'] as const);
        const time = new Date(start + rand.next() * (Date.now() - start)).toISOString();
        const event = {
          id: `soak-late-${actions.lateEvent ?? 0}-${lb}`, type, time, accountId: ACCOUNT, loadBalancerId: lb,
          ...(type === 'CREATE_VIRTUAL_IP' ? { loadBalancer: { virtualIps: [{ id: lb * 10, address: `10.70.0.${lb % 250}`, ipVersion: 'IPV4', type: 'PUBLIC' }, { id: lb * 10 + 1, address: `10.71.0.${lb % 250}`, ipVersion: 'IPV4', type: 'SERVICENET' }] } } : {}),
        };
        await post('POST', '/management/usage/events', { events: [event] });
        await post('POST', '/management/usage/events', { events: [event] });
        count('lateEvent');
      },
    };
    const names = Object.keys(chaos);
    log(`soak: seed ${options.seed}, ${options.seconds} s, 2 HAProxy hosts x ${LBS.length} frontends, 2 lbmeter processes through a breakable store link`);
    const deadline = start + options.seconds * 1000;
    while (Date.now() < deadline) {
      await sleep(rand.int(300, 2000));
      const name = rand.pick(names);
      await chaos[name]!();
      log(`  ${Math.round((Date.now() - start) / 1000)} s: ${name}`);
    }

    // The end: traffic stops and drains, the processes stop, one last read of every host.
    running = false;
    await Promise.all(workers);
    for (const h of hosts) await h.settle();
    for (const s of servers) {
      if (s.stopped) s.child.kill('SIGCONT');
      s.killed = true;
      s.child.kill('SIGTERM');
    }
    await Promise.all(servers.map((s) => new Promise((r) => (s.child.exitCode !== null || s.child.signalCode !== null ? r(undefined) : s.child.once('exit', r)))));
    if ((await cli(['poll', '--once'], location)) !== 0) surprises.push('the last poll failed');

    const store = await openStore(location, { migrate: false });
    try {
      // Nothing reads the hosts any more: the hours up to now are made final.
      const end = Date.now();
      // A process killed while rolling up holds the rollup's lease until it expires (2 min).
      const rolled = await runRollup(store, { nowMs: floorHour(end) + HOUR_MS + 1, graceMs: 0, waitMs: 150_000 });
      if (rolled.busy || rolled.hoursFinalized === 0) surprises.push(`the last rollup did not finalise the soak's hours (${JSON.stringify(rolled)})`);
      const loadBalancers: SoakResult['loadBalancers'] = [];
      for (const lb of LBS) {
        const rows = await store.db.selectFrom('usage_records').select(['bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl'])
          .where('load_balancer_id', '=', lb).where('voided', '=', 0).execute();
        const billed = { in: 0n, out: 0n };
        for (const r of rows) {
          billed.in += BigInt(r.bytes_in) + BigInt(r.bytes_in_ssl);
          billed.out += BigInt(r.bytes_out) + BigInt(r.bytes_out_ssl);
        }
        loadBalancers.push({ id: lb, truth: truth.get(lb)!, billed });
      }
      const reconciliation = await reconcile(store.db, floorHour(start) - HOUR_MS, floorHour(end) + HOUR_MS);
      let heldBytes = 0n;
      for (const a of await listAnomalies(store.db, { status: 'HELD' })) {
        if (a.held) heldBytes += a.held.bytesIn + a.held.bytesOut + a.held.bytesInSsl + a.held.bytesOutSsl;
      }
      return { seed: options.seed, transfers, actions, loadBalancers, reconciliation, heldBytes, surprises };
    } finally {
      await store.close();
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

/** Exact: every load balancer's records carry its clients' bytes, the final hours reconcile, nothing held, nothing unexpected. */
export function soakPassed(r: SoakResult): boolean {
  return r.surprises.length === 0 && r.heldBytes === 0n && r.reconciliation.differences.length === 0
    && r.loadBalancers.every((lb) => lb.truth.in === lb.billed.in && lb.truth.out === lb.billed.out);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(`--${name}`);
    return at < 0 ? undefined : process.argv[at + 1];
  };
  const seed = Number(arg('seed') ?? randomInt(2 ** 31));
  const seconds = Number(arg('seconds') ?? 300);
  if (!Number.isSafeInteger(seed) || !(seconds > 0)) {
    console.error('usage: npm run soak [-- --seconds N] [-- --seed N]');
    process.exit(2);
  }
  const r = await runSoak({ seconds, seed, log: (line) => console.log(line) });
  console.log(`\nseed ${r.seed}: ${r.transfers} transfers; ${Object.entries(r.actions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log('load balancer  clients in/out               billed in/out');
  for (const lb of r.loadBalancers) console.log(`${lb.id}            ${lb.truth.in}/${lb.truth.out}`.padEnd(43) + `${lb.billed.in}/${lb.billed.out}${lb.truth.in === lb.billed.in && lb.truth.out === lb.billed.out ? '' : '   DIFFERS'}`);
  console.log(`reconciliation: ${r.reconciliation.differences.length === 0 ? 'balanced' : `${r.reconciliation.differences.length} differences`}; bytes held: ${r.heldBytes}`);
  for (const s of r.surprises) console.log(`surprise: ${s}`);
  const passed = soakPassed(r);
  console.log(passed ? 'PASS: every byte once' : 'FAIL');
  process.exit(passed ? 0 : 1);
}
