// A simulated fleet for `serve --demo`: clusters, push-only hosts, a few hundred load balancers
// with SSL and servicenet mixes, lifecycle churn, and growing counters. It feeds the same ingest
// functions the write API calls, so what the demo shows is what real data would show.
//
// On a store it made before, the demo resumes instead of building its history again: the same
// load balancers in the states the store holds, read by hosts whose processes restarted (their
// counters start again from zero, as a restarted HAProxy's would), so nothing is counted twice
// and no old reading arrives late. It never writes into a store holding anything else.

import type { Store } from '../store/store.ts';
import { listClusters, listHosts, putCluster, putHost } from '../store/inventory.ts';
import { loadBalancerViews } from '../store/loadBalancers.ts';
import { ingestEvents } from '../ingest/events.ts';
import { ingestSample, type LoadBalancerReading } from '../ingest/samples.ts';
import type { EventType, LifecycleEvent, VirtualIp } from '../domain/types.ts';

const CLUSTERS = [
  { id: 1, name: 'DFW-1', dataCenter: 'DFW' },
  { id: 2, name: 'ORD-1', dataCenter: 'ORD' },
  { id: 3, name: 'LON-1', dataCenter: 'LON' },
];
const HOSTS_PER_CLUSTER = 2;
const SAMPLE_EVERY_MS = 5 * 60_000;

/** A small deterministic generator, so every demo shows the same fleet. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface DemoLb {
  id: number;
  accountId: number;
  clusterId: number;
  rateIn: number;
  rateOut: number;
  sslShare: number;
  alive: boolean;
  suspended: boolean;
}

export interface DemoFleet {
  /** The first account, handy for a tenant token in the banner. */
  sampleAccountId: number;
  sampleLoadBalancerId: number;
  tick(nowMs: number): Promise<void>;
}

/** The store is not empty and not the demo's: the demo would mix its fleet into real data. */
export class NotADemoStore extends Error {}

/** Empty, made by the demo, or holding something else (events or inventory the demo did not make). */
async function storeKind(store: Store): Promise<'empty' | 'demo' | 'other'> {
  const foreignEvent = await store.db.selectFrom('events').select('id').where('id', 'not like', 'demo-%').limit(1).executeTakeFirst();
  const clusters = await listClusters(store.db);
  const hosts = await listHosts(store.db, { includeRetired: true });
  const ours = clusters.every((c) => CLUSTERS.some((d) => d.id === c.id && d.name === c.name))
    && hosts.every((h) => h.id <= CLUSTERS.length * HOSTS_PER_CLUSTER && h.stats === undefined);
  const lbs = await store.db.selectFrom('load_balancers').select('id').where((eb) => eb.or([eb('id', '<', 1000), eb('name', 'not like', 'demo-%')])).limit(1).executeTakeFirst();
  if (foreignEvent || lbs || !ours) return 'other';
  const anyEvent = await store.db.selectFrom('events').select('id').limit(1).executeTakeFirst();
  return anyEvent ? 'demo' : 'empty';
}

/** Whether the demo may run on this store: empty or its own; NotADemoStore otherwise. */
export async function demoStoreKind(store: Store): Promise<'empty' | 'demo'> {
  const kind = await storeKind(store);
  if (kind === 'other') throw new NotADemoStore('the store holds data that is not the demo\'s: serve --demo needs an empty store or one it made (LBMETER_DB=./data/demo.db, say)');
  return kind;
}

export async function startDemoFleet(store: Store, options: { loadBalancers?: number; backfillHours?: number; nowMs?: number; deltaCeiling: bigint }): Promise<DemoFleet> {
  const resuming = (await demoStoreKind(store)) === 'demo';
  const rnd = random(20261123);
  const nowMs = options.nowMs ?? Date.now();
  const count = options.loadBalancers ?? 300;
  const start = Math.floor((nowMs - (options.backfillHours ?? 6) * 3_600_000) / SAMPLE_EVERY_MS) * SAMPLE_EVERY_MS;
  // Event ids carry the run, so a resumed run's churn never collides with an earlier run's.
  const run = resuming ? nowMs.toString(36) : '';

  for (const c of CLUSTERS) {
    await putCluster(store.db, c);
    for (let h = 1; h <= HOSTS_PER_CLUSTER; h++) await putHost(store.db, { id: (c.id - 1) * HOSTS_PER_CLUSTER + h, clusterId: c.id, name: `${c.dataCenter.toLowerCase()}-lb-${h}` });
  }
  const hosts = CLUSTERS.flatMap((c) => Array.from({ length: HOSTS_PER_CLUSTER }, (_, i) => ({ id: (c.id - 1) * HOSTS_PER_CLUSTER + i + 1, clusterId: c.id })));
  const counters = new Map<string, LoadBalancerReading>();
  // A resumed demo's hosts run new processes: their counters start from zero again.
  const processes = new Map(hosts.map((h) => [h.id, resuming ? { pid: 2000 + h.id, startMs: nowMs - 1000 } : { pid: 1000 + h.id, startMs: start - 86_400_000 }]));

  const lbs: DemoLb[] = [];
  const events: LifecycleEvent[] = [];
  let eventSeq = 0;
  const event = (lb: DemoLb, type: EventType, timeMs: number, patch?: LifecycleEvent['loadBalancer']) => {
    const e: LifecycleEvent = { id: `demo-${run}${run && '-'}${lb.id}-${++eventSeq}`, type, timeMs, accountId: lb.accountId, loadBalancerId: lb.id };
    if (patch) e.loadBalancer = patch;
    events.push(e);
  };
  for (let i = 0; i < count; i++) {
    const lb: DemoLb = {
      id: 1000 + i, accountId: 500000 + Math.floor(rnd() * 40), clusterId: CLUSTERS[i % CLUSTERS.length].id,
      rateIn: Math.floor(rnd() * 200_000), rateOut: Math.floor(rnd() * 2_000_000), sslShare: rnd() < 0.3 ? rnd() : 0,
      alive: true, suspended: false,
    };
    lbs.push(lb);
    const servicenet = rnd() < 0.25;
    const vips: VirtualIp[] = [{ id: 10_000 + i, address: `10.${(i >> 8) & 255}.${i & 255}.10`, ipVersion: 'IPV4', type: servicenet ? 'SERVICENET' : 'PUBLIC' }];
    if (rnd() < 0.5) vips.push({ id: 20_000 + i, address: `2001:db8::${i.toString(16)}`, ipVersion: 'IPV6', type: 'PUBLIC' });
    const created = start - 3_600_000 + Math.floor(rnd() * 3_600_000);
    event(lb, 'CREATE_LOADBALANCER', created, {
      name: `demo-${i}`, protocol: rnd() < 0.8 ? 'HTTP' : 'TCP', clusterId: lb.clusterId, status: 'ACTIVE',
      sslMode: lb.sslShare > 0 ? 'MIXED' : 'OFF', virtualIps: vips,
    });
  }
  if (resuming) {
    // The load balancers as the store has them now (deleted, suspended, SSL off), not as created.
    events.length = 0;
    const states = new Map((await loadBalancerViews(store.db, {})).map((lb) => [lb.id, lb]));
    for (const lb of lbs) {
      const state = states.get(lb.id);
      lb.alive = !!state && state.deletedMs === undefined;
      lb.suspended = state?.status === 'SUSPENDED';
      if (state?.sslMode === 'OFF') lb.sslShare = 0;
      else if (lb.sslShare === 0) lb.sslShare = 0.4;
    }
  } else await ingestEvents(store, events.splice(0), nowMs);

  // Churn during the backfill: a few deletions, suspensions and SSL switches.
  const churn = (t: number) => {
    const lb = lbs[Math.floor(rnd() * lbs.length)];
    if (!lb.alive) return;
    const roll = rnd();
    if (roll < 0.3) {
      lb.alive = false;
      event(lb, 'DELETE_LOADBALANCER', t);
    } else if (roll < 0.6) {
      lb.suspended = !lb.suspended;
      // Unsuspending re-creates the frontend, so its counters start again from zero (as HAProxy's would).
      if (!lb.suspended) for (const h of hosts) counters.delete(`${h.id}/${lb.id}`);
      event(lb, lb.suspended ? 'SUSPEND_LOADBALANCER' : 'UNSUSPEND_LOADBALANCER', t);
    } else {
      lb.sslShare = lb.sslShare > 0 ? 0 : 0.4;
      event(lb, lb.sslShare > 0 ? 'SSL_MIXED_ON' : 'SSL_OFF', t);
    }
  };

  const pushSamples = async (t: number) => {
    for (const host of hosts) {
      const readings: LoadBalancerReading[] = [];
      for (const lb of lbs) {
        if (lb.clusterId !== host.clusterId || !lb.alive) continue;
        const key = `${host.id}/${lb.id}`;
        const c = counters.get(key) ?? { accountId: lb.accountId, loadBalancerId: lb.id, bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 };
        if (!lb.suspended) {
          const wave = 0.5 + rnd();
          const plain = 1 - lb.sslShare;
          c.bytesIn += BigInt(Math.floor(lb.rateIn * wave * plain));
          c.bytesOut += BigInt(Math.floor(lb.rateOut * wave * plain));
          c.bytesInSsl += BigInt(Math.floor(lb.rateIn * wave * lb.sslShare));
          c.bytesOutSsl += BigInt(Math.floor(lb.rateOut * wave * lb.sslShare));
          c.connections = Math.floor(rnd() * 40 * plain);
          c.connectionsSsl = Math.floor(rnd() * 40 * lb.sslShare);
        } else {
          c.connections = 0;
          c.connectionsSsl = 0;
        }
        counters.set(key, c);
        readings.push({ ...c });
      }
      await ingestSample(store, { hostId: host.id, timeMs: t, process: processes.get(host.id)!, loadBalancers: readings }, { deltaCeiling: options.deltaCeiling, nowMs: t });
    }
  };

  for (let t = start; !resuming && t <= nowMs; t += SAMPLE_EVERY_MS) {
    if (rnd() < 0.5) churn(t - 60_000);
    if (events.length) await ingestEvents(store, events.splice(0), nowMs);
    await pushSamples(t);
  }

  const firstLive = lbs.find((lb) => lb.alive)!;
  return {
    sampleAccountId: firstLive.accountId,
    sampleLoadBalancerId: firstLive.id,
    async tick(t: number) {
      if (rnd() < 0.1) churn(t - 1000);
      if (events.length) await ingestEvents(store, events.splice(0), t);
      await pushSamples(t);
    },
  };
}
