// Records are a function of the facts, never of their arrival order (SPEC 5, Order independence).
// Random fleets (1 to 3 hosts, process restarts, counter resets, every event type, readings
// before a CREATE, after a DELETE and on hour and midnight boundaries, second readers whose
// clocks are up to 5 s off) are delivered once in order and once shuffled with the skewed clocks'
// stamps, with duplicates and rollups at random points in between (the shuffled store's rollup
// taking its fleet one or two load balancers at a time, the other's all at once). While the
// hours are provisional the records, account snapshots and anomalies must be identical (ids
// aside); once final, both stores must reconcile: bytes in records + held = bytes of the deltas.
// Then the first day's readings are compacted into hourly rows: every hour must roll up to the
// same records, every record's audit must bill its bytes, and the window must still reconcile.
//
// A second property makes the shuffled store's hours final half-way: the rest arrives late, is
// held, and is released by the operator, while exports run into a receiver that stores some
// batches and then times out; billing must end with the in-order delivery's final figures.
//
// PROPERTY_RUNS and PROPERTY_SEED (fast-check's seed) repeat or widen a run; PROPERTY_DEBUG=<load
// balancer id> prints the shuffled store's records, anomalies and hours, and both stores' readings
// of that load balancer, when a property fails.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { engines } from '../helpers/engines.ts';
import { oneIn } from '../helpers/random.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { runRollup } from '../../src/jobs/rollup.ts';
import { reconcile } from '../../src/query/reconciliation.ts';
import { recordSources } from '../../src/query/recordSources.ts';
import { rollHour } from '../../src/usage/hourRollup.ts';
import { compactDay, daysToCompact } from '../../src/store/compaction.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';
import { listAnomalies } from '../../src/store/anomalies.ts';
import { releaseAnomaly } from '../../src/usage/corrections.ts';
import { runExport } from '../../src/jobs/export.ts';
import { usageEventId } from '../../src/export/cloudEvents.ts';
import type { BillingSink } from '../../src/export/sink.ts';
import type { ExportableRecord } from '../../src/store/exports.ts';
import type { EventType, LifecycleEvent, VirtualIp } from '../../src/domain/types.ts';

const MINUTE = 60_000;
const H0 = Date.UTC(2026, 10, 21, 22); // 22:00: the story crosses midnight
const SPAN_MIN = 180;
const NOW = H0 + (SPAN_MIN + 30) * MINUTE;
const CEILING = 2n ** 40n;

type Item = { at: number; kind: 'event'; event: LifecycleEvent }
  | { at: number; kind: 'sample'; hostId: number; pid: number; startMs: number; readings: { lb: number; account: number; counters: bigint[]; connections: number }[]; skewMs?: number };

const MIDDLE_TYPES: EventType[] = ['CREATE_VIRTUAL_IP', 'DELETE_VIRTUAL_IP', 'SSL_ONLY_ON', 'SSL_MIXED_ON', 'SSL_OFF', 'SUSPEND_LOADBALANCER', 'SUSPENDED_LOADBALANCER', 'UNSUSPEND_LOADBALANCER'];

const lbArb = fc.record({
  // Minutes from 22:00; some exactly on an hour (and on midnight).
  createAt: fc.oneof(fc.constantFrom(0, 60, 120), fc.integer({ min: 1, max: 150 })),
  middle: fc.array(fc.record({ type: fc.constantFrom(...MIDDLE_TYPES), after: fc.integer({ min: 0, max: 90 }) }), { maxLength: 4 }),
  deleteAfter: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
});

const storyArb = fc.record({
  hosts: fc.integer({ min: 1, max: 3 }),
  lbs: fc.array(lbArb, { minLength: 1, maxLength: 3 }),
  // Per poll round and host: a restart of the process, a counter reset of one load balancer.
  restarts: fc.array(fc.record({ round: fc.integer({ min: 1, max: 17 }), host: fc.integer({ min: 1, max: 3 }) }), { maxLength: 2 }),
  resets: fc.array(fc.record({ round: fc.integer({ min: 1, max: 17 }), host: fc.integer({ min: 1, max: 3 }), lb: fc.integer({ min: 0, max: 2 }) }), { maxLength: 2 }),
  huge: fc.array(fc.record({ round: fc.integer({ min: 0, max: 17 }), lb: fc.integer({ min: 0, max: 2 }) }), { maxLength: 1 }),
  // A second reader of a host, a moment after a round's read (`lagMs`), with some traffic in
  // between; its clock is `skewMs` off (up to 5 s either way) in the shuffled delivery only.
  echoes: fc.array(fc.record({
    round: fc.integer({ min: 0, max: 17 }), host: fc.integer({ min: 1, max: 3 }), lagMs: fc.integer({ min: 200, max: 4000 }),
    skewMs: fc.integer({ min: -5000, max: 5000 }), bytes: fc.integer({ min: 1, max: 5000 }),
  }), { maxLength: 3 }),
  bytes: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 18 * 3 * 3, maxLength: 18 * 3 * 3 }),
  order: fc.integer(),
});

type Story = typeof storyArb extends fc.Arbitrary<infer T> ? T : never;

function vip(id: number, type: VirtualIp['type'] = 'PUBLIC'): VirtualIp {
  return { id, address: `10.1.${Math.floor(id / 250)}.${id % 250}`, ipVersion: 'IPV4', type };
}

/** The story's facts: events and host samples, each at its instant. */
function factsOf(story: Story): Item[] {
  const items: Item[] = [];
  story.lbs.forEach((spec, i) => {
    const lb = 10 + i;
    const account = 500 + (i % 2);
    const create = H0 + spec.createAt * MINUTE;
    let seq = 0;
    const event = (type: EventType, time: number, loadBalancer?: LifecycleEvent['loadBalancer']) => items.push({
      at: time, kind: 'event', event: { id: `lb${lb}-${seq++}`, type, timeMs: time, accountId: account, loadBalancerId: lb, ...(loadBalancer ? { loadBalancer } : {}) },
    });
    event('CREATE_LOADBALANCER', create, { name: `lb-${lb}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [vip(lb * 10)] });
    let last = create;
    spec.middle.forEach((m, k) => {
      last = Math.min(create + m.after * MINUTE, H0 + SPAN_MIN * MINUTE);
      const vips = m.type === 'CREATE_VIRTUAL_IP' ? { virtualIps: [vip(lb * 10), vip(lb * 10 + k + 1, k % 2 ? 'SERVICENET' : 'PUBLIC')] }
        : m.type === 'DELETE_VIRTUAL_IP' ? { virtualIps: [vip(lb * 10 + 9, 'SERVICENET')] } : undefined;
      event(m.type, last, vips);
    });
    if (spec.deleteAfter !== undefined) event('DELETE_LOADBALANCER', Math.min(last + spec.deleteAfter * MINUTE, H0 + SPAN_MIN * MINUTE));
  });
  // Every host reads every load balancer every 10 minutes (agents a second apart), from before
  // the first CREATE to after the last DELETE; the round at minute 60 reads exactly at 23:00.
  const counters = new Map<string, bigint[]>();
  const process = new Map<number, { pid: number; startMs: number }>();
  let b = 0;
  for (let round = 0; round < 18; round++) {
    for (let host = 1; host <= story.hosts; host++) {
      const t = H0 + round * 10 * MINUTE + (host - 1) * 1000;
      if (!process.has(host) || story.restarts.some((r) => r.round === round && r.host === host)) {
        process.set(host, { pid: 1000 * host + round, startMs: t - 1000 });
        for (const key of counters.keys()) if (key.startsWith(`${host}/`)) counters.delete(key);
      }
      const readings = story.lbs.map((_, i) => {
        const key = `${host}/${i}`;
        const reset = story.resets.some((r) => r.round === round && r.host === host && r.lb === i);
        const step = story.huge.some((h) => h.round === round && h.lb === i) && host === 1 ? CEILING + 5n : BigInt(story.bytes[b++ % story.bytes.length]!);
        const before = reset ? [0n, 0n, 0n, 0n] : counters.get(key) ?? [0n, 0n, 0n, 0n];
        const next = [before[0]! + step, before[1]! + 3n * step, before[2]! + step / 7n, before[3]! + step / 5n];
        counters.set(key, next);
        return { lb: 10 + i, account: 500 + (i % 2), counters: next, connections: Number(step % 50n) };
      });
      items.push({ at: t, kind: 'sample', hostId: host, ...process.get(host)!, readings });
      // In the order they read: each one's counters are above the one before.
      const echoes = story.echoes.map((e, n) => ({ ...e, at: t + e.lagMs + n })).filter((e) => e.round === round && e.host === host).sort((a, b) => a.at - b.at);
      // Each echo counts on from the reading before it (the round's, or the echo before): it was
      // building on the round's own counters, so a second echo could read lower than the first.
      let before = readings;
      for (const echo of echoes) {
        const echoed = before.map((r, i) => {
          const extra = BigInt(echo.bytes + i);
          const next = [r.counters[0]! + extra, r.counters[1]! + 3n * extra, r.counters[2]! + extra / 7n, r.counters[3]! + extra / 5n];
          counters.set(`${host}/${i}`, next);
          return { ...r, counters: next };
        });
        items.push({ at: echo.at, kind: 'sample', hostId: host, ...process.get(host)!, readings: echoed, skewMs: echo.skewMs });
        before = echoed;
      }
    }
  }
  return items.sort((x, y) => x.at - y.at || (x.kind === y.kind ? 0 : x.kind === 'event' ? -1 : 1));
}

/** A deterministic shuffle, a few duplicates, and rollups between, all from one seed. */
function shuffled(items: Item[], seed: number): (Item | 'rollup')[] {
  let s = seed >>> 0;
  const rand = () => ((s = (s + 0x6d2b79f5) >>> 0), (((s ^ (s >>> 15)) * (s | 1)) >>> 0) / 2 ** 32);
  const out: (Item | 'rollup')[] = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  for (let k = 0; k < 4; k++) out.splice(Math.floor(rand() * out.length), 0, items[Math.floor(rand() * items.length)]!);
  for (let k = 0; k < 3; k++) out.splice(Math.floor(rand() * out.length), 0, 'rollup');
  return out;
}

/** `skewed`: a second reader's samples carry its clock's stamp (SPEC 5, Order of readings). */
/** `sliceSize`: the rollup's load balancers at a time (the fleet's hour in slices of ids), default all at once here. */
async function deliver(store: Store, sequence: (Item | 'rollup')[], graceMs: number, skewed = false, sliceSize?: number): Promise<void> {
  for (const item of sequence) {
    if (item === 'rollup') await runRollup(store, { nowMs: NOW, graceMs, sliceSize });
    else if (item.kind === 'event') await ingestEvents(store, [item.event], NOW);
    else {
      await ingestSample(store, {
        hostId: item.hostId, timeMs: item.at + (skewed ? item.skewMs ?? 0 : 0), process: { pid: item.pid, startMs: item.startMs },
        loadBalancers: item.readings.map((r) => ({
          accountId: r.account, loadBalancerId: r.lb, bytesIn: r.counters[0]!, bytesOut: r.counters[1]!, bytesInSsl: r.counters[2]!, bytesOutSsl: r.counters[3]!,
          connections: r.connections, connectionsSsl: r.connections % 3,
        })),
      }, { deltaCeiling: CEILING, nowMs: NOW });
    }
  }
  await runRollup(store, { nowMs: NOW, graceMs, sliceSize });
}

/** The shuffled store rolls its fleet one or two load balancers at a time; the in-order one all at once. */
const sliceOf = (story: Story) => 1 + (Math.abs(story.order) % 2);

/** Every hour's records as the rollup makes them now from the stored facts, as text. */
async function rolledHours(store: Store): Promise<unknown> {
  const hours: unknown[] = [];
  for (let h = H0 - 3_600_000; h < NOW - (NOW % 3_600_000); h += 3_600_000) hours.push((await rollHour(store.db, h, h + 3_600_000)).drafts);
  return JSON.parse(JSON.stringify(hours, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
}

/**
 * A receiver written for lbmeter's CloudEvents: keeps each event id once and, per record, the
 * figures of its highest revision. `flaky`: a share of the batches is stored and then answered
 * with a timeout (the exporter cannot know the receiver has them).
 */
function recordingSink(flaky?: () => boolean) {
  const seen = new Set<string>();
  const latest = new Map<string, { revision: number; figures: string }>();
  const sink: BillingSink = {
    description: 'property sink',
    async deliver(records: ExportableRecord[]) {
      for (const r of records) {
        const id = usageEventId(r);
        if (seen.has(id)) continue;
        seen.add(id);
        const key = `${r.loadBalancerId}/${r.startMs}/${r.closing}`;
        if ((latest.get(key)?.revision ?? -1) < r.revision) latest.set(key, { revision: r.revision, figures: r.voided ? 'void' : figuresOf(r) });
      }
      return flaky?.() ? { ok: false, error: 'no answer within 10 ms', permanent: false } : { ok: true, duplicate: false };
    },
  };
  return { sink, figures: () => [...latest].filter(([, v]) => v.figures !== 'void').map(([k, v]) => `${k}: ${v.figures}`).sort() };
}

const figuresOf = (r: { bytesIn: bigint | number; bytesOut: bigint | number; bytesInSsl: bigint | number; bytesOutSsl: bigint | number }) =>
  `${r.bytesIn}/${r.bytesOut}/${r.bytesInSsl}/${r.bytesOutSsl}`;

/** Every final record's bytes by identity, as billing should end up with them. */
async function finalFigures(store: Store): Promise<string[]> {
  const rows = await store.db.selectFrom('usage_records').selectAll().where('final', '=', 1).where('voided', '=', 0).execute();
  return rows.map((r) => `${r.load_balancer_id}/${r.start_ms}/${r.closing === 1 || r.closing === 1n}: ${figuresOf({ bytesIn: r.bytes_in, bytesOut: r.bytes_out, bytesInSsl: r.bytes_in_ssl, bytesOutSsl: r.bytes_out_ssl } as any)}`).sort();
}

/** Exports until nothing is due, the sink failing as it will (each retry due at once). */
async function exportAll(store: Store, sink: BillingSink): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await runExport(store, sink, { batchSize: 7, maxAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0, nowMs: () => NOW });
    if (!r.stoppedBy) return;
  }
  throw new Error('the export never finished');
}

const countReadings = async (store: Store) => Number((await store.db.selectFrom('usage_samples').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

/** What the stores hold, ids and bookkeeping aside, in a stable order. */
async function contents(store: Store) {
  const text = (rows: object[]) => rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).sort();
  const records = await store.db.selectFrom('usage_records').select(['account_id', 'load_balancer_id', 'hour_ms', 'start_ms', 'end_ms', 'closing', 'bytes_in', 'bytes_out',
    'bytes_in_ssl', 'bytes_out_ssl', 'avg_connections', 'avg_connections_ssl', 'num_vips', 'num_polls', 'vip_type', 'ssl_mode', 'event_type', 'final', 'voided']).execute();
  const snapshots = await store.db.selectFrom('account_usage').select(['account_id', 'time_ms', 'source', 'num_load_balancers', 'num_public_vips', 'num_servicenet_vips']).execute();
  const anomalies = await store.db.selectFrom('anomalies').select(['kind', 'time_ms', 'load_balancer_id', 'host_id', 'status', 'bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl']).execute();
  const norm = (rows: any[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  // A held reading is timed by its stamp, and a second reader's stamp is its skewed clock's (placed
  // by its counters within seconds of the truth): anomalies are compared to the minute.
  const toMinute = (rows: any[]) => rows.map((r) => ({ ...r, time_ms: r.time_ms - (r.time_ms % MINUTE) }));
  return { records: text(norm(records)), snapshots: text(norm(snapshots)), anomalies: text(toMinute(norm(anomalies))) };
}

/** PROPERTY_DEBUG=<load balancer id>: what the shuffled store decided, and both stores' readings of it. */
async function showDebug(inOrder: Store, anyOrder: Store): Promise<void> {
  const show = (rows: unknown) => console.log(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  show(await anyOrder.db.selectFrom('usage_records').select(['load_balancer_id', 'start_ms', 'closing', 'revision', 'voided', 'offered', 'exported_ms', 'final', 'bytes_in']).orderBy('load_balancer_id').orderBy('start_ms').execute());
  show(await anyOrder.db.selectFrom('anomalies').select(['id', 'kind', 'time_ms', 'load_balancer_id', 'host_id', 'status', 'detail']).orderBy('id').execute());
  show(await anyOrder.db.selectFrom('hours').selectAll().execute());
  for (const store of [inOrder, anyOrder]) {
    show(await store.db.selectFrom('usage_samples').select(['load_balancer_id', 'host_id', 'time_ms', 'kind', 'hold', 'operator', 'bytes_in', 'counter_in'])
      .where('load_balancer_id', '=', Number(process.env.PROPERTY_DEBUG)).orderBy('host_id').orderBy('time_ms').execute());
  }
}

const available = await engines();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

for (const { fixture, skip } of available) {
  describe(`arrival order [${fixture.name}]`, { skip }, () => {
    cleanups.push(() => fixture.cleanup());
    const open = async () => {
      const store = await openStore(await fixture.create());
      await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
      for (let h = 1; h <= 3; h++) await putHost(store.db, { id: h, clusterId: 1, name: `lb-${h}` });
      return store;
    };
    /** `body` on two fresh stores, the in-order and the any-order one; on failure, what differed. */
    const onTwoStores = async (label: string, body: (inOrder: Store, anyOrder: Store) => Promise<void>) => {
      const [inOrder, anyOrder] = [await open(), await open()];
      try {
        await body(inOrder, anyOrder);
      } catch (err) {
        // fast-check reports the counterexample; say what differed.
        console.log(`# ${label}: ${String((err as Error).message).slice(0, 3000)}`);
        if (process.env.PROPERTY_DEBUG) await showDebug(inOrder, anyOrder);
        throw err;
      } finally {
        await inOrder.close();
        await anyOrder.close();
      }
    };
    const runs = Number(process.env.PROPERTY_RUNS ?? (fixture.name === 'sqlite' ? 25 : 8));
    const seed = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);

    test(`records, snapshots and anomalies do not depend on arrival order; every byte reconciles (${runs} fleets)`, async () => {
      let compacted = 0;
      await fc.assert(fc.asyncProperty(storyArb, async (story) => {
        const facts = factsOf(story);
        await onTwoStores(fixture.name, async (inOrder, anyOrder) => {
          await deliver(inOrder, facts, 86_400_000);
          await deliver(anyOrder, shuffled(facts, story.order), 86_400_000, true, sliceOf(story));
          assert.deepEqual(await contents(anyOrder), await contents(inOrder), 'provisional hours: the same records, snapshots and anomalies');
          assert.ok((await contents(inOrder)).records.length > 0);

          // Made final (no grace left): both reconcile, with the same bytes taken.
          for (const store of [inOrder, anyOrder]) await runRollup(store, { nowMs: NOW, graceMs: 0 });
          assert.deepEqual(await contents(anyOrder), await contents(inOrder), 'final hours: still the same');
          const [a, b] = [await reconcile(inOrder.db, H0 - 3_600_000, NOW), await reconcile(anyOrder.db, H0 - 3_600_000, NOW)];
          assert.deepEqual(a.differences, [], 'in order: records + held = deltas taken');
          assert.deepEqual(b.differences, [], 'any order: records + held = deltas taken');
          assert.deepEqual([b.taken, b.withheld, b.records], [a.taken, a.withheld, a.records]);

          // Compacted (the first day's readings into hourly rows): every hour rolls up to the
          // same records, every record's audit still bills its bytes, and it still reconciles.
          const rolledBefore = await rolledHours(inOrder);
          const rawBefore = await countReadings(inOrder);
          const days = await daysToCompact(inOrder.db, 0);
          assert.deepEqual(days, [H0 - (H0 % 86_400_000)], 'the first day is final, the second is not over');
          for (const day of days) await compactDay(inOrder.db, day);
          assert.deepEqual(await daysToCompact(inOrder.db, 0), [], 'each day once');
          assert.ok(await countReadings(inOrder) <= rawBefore);
          if (await inOrder.db.selectFrom('usage_samples').select('id').where('kind', '=', 3).executeTakeFirst()) compacted++;
          assert.deepEqual(await rolledHours(inOrder), rolledBefore, 'compacted hours roll up to the same records');
          for (const { id, load_balancer_id: lbId } of await inOrder.db.selectFrom('usage_records').select(['id', 'load_balancer_id']).where('voided', '=', 0).execute()) {
            const audit = await recordSources(inOrder.db, Number(lbId), Number(id));
            assert.ok(audit?.matches, `record ${id}: its audit bills ${JSON.stringify(audit?.billed, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
          }
          const c = await reconcile(inOrder.db, H0 - 3_600_000, NOW);
          assert.deepEqual([c.differences, c.taken, c.withheld, c.records], [[], a.taken, a.withheld, a.records], 'compacted: the same bytes reconcile');
        });
      }), { numRuns: runs, ...(seed !== undefined ? { seed } : {}), endOnFailure: true });
      assert.ok(compacted > runs / 2, `readings compacted into hourly rows in ${compacted} of ${runs} fleets`);
    });

    // Late data and at-least-once delivery (SPEC 5): the shuffled facts' hours are made final
    // half-way, so the rest arrives late and is held; the operator releases every late reading
    // and event; exports run before and after into a receiver that stores some batches and then
    // times out. Billing must end with the in-order delivery's final figures.
    test(`late facts released after finalisation and a sink that times out after storing: billing ends with in-order figures (${runs} fleets)`, async () => {
      await fc.assert(fc.asyncProperty(storyArb, fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (story, sinkSeed) => {
        // No reading above the ceiling: in order it is held by the ceiling, late by its hour.
        const facts = factsOf({ ...story, huge: [] });
        await onTwoStores(`${fixture.name} (late)`, async (inOrder, anyOrder) => {
          await deliver(inOrder, facts, 86_400_000);
          await runRollup(inOrder, { nowMs: NOW, graceMs: 0 });
          const reliable = recordingSink();
          await exportAll(inOrder, reliable.sink);

          const flaky = recordingSink(oneIn(3, sinkSeed));
          const sequence = shuffled(facts, story.order).filter((item) => item !== 'rollup');
          const half = Math.floor(sequence.length / 2);
          await deliver(anyOrder, sequence.slice(0, half), 86_400_000, true, sliceOf(story));
          await runRollup(anyOrder, { nowMs: NOW, graceMs: 0, sliceSize: sliceOf(story) }); // every hour final: the rest is late
          await exportAll(anyOrder, flaky.sink);
          await deliver(anyOrder, sequence.slice(half), 0, true, sliceOf(story));
          const late = (await listAnomalies(anyOrder.db, { status: 'HELD' })).sort((x, y) => x.timeMs - y.timeMs || x.id - y.id);
          for (const a of late) {
            if (a.kind === 'LATE_SAMPLE' || a.kind === 'LATE_EVENT') await releaseAnomaly(anyOrder, a.id, NOW);
          }
          await exportAll(anyOrder, flaky.sink);

          const expected = await finalFigures(inOrder);
          assert.deepEqual(reliable.figures(), expected, 'in order, billing has the final records');
          assert.deepEqual(await finalFigures(anyOrder), expected, 'released late facts give the in-order records');
          assert.deepEqual(flaky.figures(), expected, 'billing ends with the corrected figures');
        });
      }), { numRuns: runs, ...(seed !== undefined ? { seed } : {}), endOnFailure: true });
    });
  });
}
