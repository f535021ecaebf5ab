// Every export format feeds its engine exactly (issue 22). Random histories of final records with
// late corrections (new figures, a changed VIP type or SSL mode) and voids go through the real
// export job and HTTP sink into a loopback receiver that applies the engine's documented
// semantics, and that now and then stores a request and then fails (so lbmeter sends it again):
//   cloudevents  lbmeter's own receiver: each record's highest revision replaces the ones before;
//   openmeter    dedupe by (source, id), SUM of each data field per subject (the account);
//   lago         dedupe by transaction_id (a request naming one it has is a 422 listing them,
//                nothing stored), at most 100 events a request, SUM of properties.value per
//                subscription and metric code.
// At the end each engine's totals per account and metric equal lbmeter's final records.

import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { engines } from '../helpers/engines.ts';
import { oneIn } from '../helpers/random.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { reviseFinalRecords } from '../../src/store/usageRecords.ts';
import { runExport } from '../../src/jobs/export.ts';
import { httpSink } from '../../src/export/httpSink.ts';
import { EXPORT_FORMATS, type ExportFormatName } from '../../src/export/formats/index.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';

const HOUR = 3_600_000;
const H0 = Date.UTC(2026, 10, 2, 6);
const METRICS = ['in', 'out', 'inSsl', 'outSsl', 'hours'] as const;
type Totals = Map<string, number>; // `${account}/${metric}` -> sum

/** An engine on loopback: it applies its format's semantics and keeps totals per account and metric. */
async function startEngine(format: ExportFormatName, flaky: () => boolean) {
  const totals: Totals = new Map();
  const add = (account: string, metric: string, v: number) => totals.set(`${account}/${metric}`, (totals.get(`${account}/${metric}`) ?? 0) + v);
  const seen = new Set<string>();
  const latest = new Map<string, { revision: number; data: any }>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      const fail = flaky();
      if (format === 'lago') {
        // Lago's API key as a bearer token (LBMETER_EXPORT_TOKEN).
        if (req.headers.authorization !== 'Bearer lago-test-key') return res.writeHead(401).end();
        const { events } = JSON.parse(body) as { events: any[] };
        if (events.length > 100) return res.writeHead(400).end();
        const known = events.map((e, i) => [i, e] as const).filter(([, e]) => seen.has(`${e.external_subscription_id}/${e.transaction_id}`));
        if (known.length) {
          return res.writeHead(422, { 'content-type': 'application/json' })
            .end(JSON.stringify({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: Object.fromEntries(known.map(([i]) => [i, { transaction_id: ['value_already_exist'] }])) }));
        }
        for (const e of events) {
          seen.add(`${e.external_subscription_id}/${e.transaction_id}`);
          add(e.external_subscription_id, ({ lb_bytes_in: 'in', lb_bytes_out: 'out', lb_bytes_in_ssl: 'inSsl', lb_bytes_out_ssl: 'outSsl', lb_hours: 'hours' } as any)[e.code], Number(e.properties.value));
        }
      } else {
        for (const e of JSON.parse(body) as any[]) {
          if (format === 'openmeter') {
            if (seen.has(`${e.source}/${e.id}`)) continue;
            seen.add(`${e.source}/${e.id}`);
            const d = e.data;
            for (const [metric, v] of [['in', d.incomingTransfer], ['out', d.outgoingTransfer], ['inSsl', d.incomingTransferSsl], ['outSsl', d.outgoingTransferSsl], ['hours', d.loadBalancerHours]]) add(e.subject, metric, Number(v));
          } else {
            const key = `${e.data.accountId}/${e.data.loadBalancerId}/${e.data.startTime}/${e.data.closing}`;
            if ((latest.get(key)?.revision ?? -1) < e.data.revision) latest.set(key, { revision: e.data.revision, data: e.data });
          }
        }
      }
      res.writeHead(fail ? 503 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    totals(): Totals {
      if (format !== 'cloudevents') return totals;
      const out: Totals = new Map();
      for (const { data: d } of latest.values()) {
        if (d.voided) continue;
        const hours = (Date.parse(d.endTime) - Date.parse(d.startTime)) / HOUR;
        for (const [metric, v] of [['in', d.incomingTransfer], ['out', d.outgoingTransfer], ['inSsl', d.incomingTransferSsl], ['outSsl', d.outgoingTransferSsl], ['hours', hours]] as const) {
          out.set(`${d.accountId}/${metric}`, (out.get(`${d.accountId}/${metric}`) ?? 0) + Number(v));
        }
      }
      return out;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** lbmeter's final records summed per account and metric: what billing must end with. */
async function finalTotals(store: Store): Promise<Totals> {
  const rows = await store.db.selectFrom('usage_records').selectAll().where('final', '=', 1).where('voided', '=', 0).execute();
  const out: Totals = new Map();
  for (const r of rows) {
    const hours = (Number(r.end_ms) - Number(r.start_ms)) / HOUR;
    for (const [metric, v] of [['in', r.bytes_in], ['out', r.bytes_out], ['inSsl', r.bytes_in_ssl], ['outSsl', r.bytes_out_ssl], ['hours', hours]] as const) {
      out.set(`${r.account_id}/${metric}`, (out.get(`${r.account_id}/${metric}`) ?? 0) + Number(v));
    }
  }
  return out;
}

const nonZero = (t: Totals) => [...t].filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b));

const figuresArb = fc.record({
  bytes: fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 4, maxLength: 4 }),
  startQuarter: fc.integer({ min: 0, max: 3 }),
  vipType: fc.constantFrom('PUBLIC', 'SERVICENET'),
  sslMode: fc.constantFrom('OFF', 'MIXED', 'ON'),
});
// Records by (load balancer 1-4, hour 0-2); then correction rounds: a new version of some, the
// removal of others (voided once billing saw them), and the return of some removed.
const historyArb = fc.record({
  records: fc.uniqueArray(fc.record({ lb: fc.integer({ min: 1, max: 4 }), hour: fc.integer({ min: 0, max: 2 }), f: figuresArb }), { minLength: 1, maxLength: 8, selector: (r) => `${r.lb}/${r.hour}` }),
  rounds: fc.array(fc.array(fc.record({ pick: fc.nat(), change: fc.option(figuresArb, { nil: undefined }) }), { maxLength: 4 }), { minLength: 1, maxLength: 4 }),
  flakySeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

type History = typeof historyArb extends fc.Arbitrary<infer T> ? T : never;
type Figures = History['records'][number]['f'];

const draftOf = (lb: number, hour: number, f: Figures): UsageRecordDraft => {
  const hourMs = H0 + hour * HOUR;
  return {
    accountId: 700 + (lb % 2), loadBalancerId: lb, hourMs, startMs: hourMs + f.startQuarter * 15 * 60_000, endMs: hourMs + HOUR, closing: false,
    bytesIn: BigInt(f.bytes[0]!), bytesOut: BigInt(f.bytes[1]!), bytesInSsl: BigInt(f.bytes[2]!), bytesOutSsl: BigInt(f.bytes[3]!),
    averageNumConnections: 1, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType: f.vipType as any, sslMode: f.sslMode as any,
  };
};

const available = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

for (const { fixture, skip } of available) {
  describe(`export formats [${fixture.name}]`, { skip }, () => {
    cleanups.push(() => fixture.cleanup());
    const runs = Number(process.env.PROPERTY_RUNS ?? (fixture.name === 'sqlite' ? 15 : 5));
    for (const format of EXPORT_FORMATS) {
      test(`${format}: the engine's totals per account and metric end equal to the final records, through corrections, voids and redeliveries (${runs} histories)`, async () => {
        await fc.assert(fc.asyncProperty(historyArb, async (history) => {
          const store = await openStore(await fixture.create());
          const engine = await startEngine(format, oneIn(4, history.flakySeed));
          try {
            const sink = httpSink(engine.url, { format, source: '/lbmeter/test', timeoutMs: 5000, lagoSubscription: '{accountId}', ...(format === 'lago' ? { token: 'lago-test-key' } : {}) });
            const exportAll = async () => {
              for (let i = 0; i < 100; i++) {
                const r = await runExport(store, sink, { batchSize: 3, maxAttempts: 1000, baseDelayMs: 0, maxDelayMs: 0 });
                if (!r.stoppedBy) return;
              }
              throw new Error('the export never finished');
            };
            // The current version of each record (undefined: removed); corrections re-roll an hour.
            const current = new Map(history.records.map((r) => [`${r.lb}/${r.hour}`, r.f as Figures | undefined]));
            const rollHour = async (hour: number) => {
              const drafts = [...current].filter(([k, f]) => f && Number(k.split('/')[1]) === hour).map(([k, f]) => draftOf(Number(k.split('/')[0]), hour, f!));
              await store.transaction((trx) => reviseFinalRecords(trx, H0 + hour * HOUR, [1, 2, 3, 4], drafts));
            };
            for (const hour of [0, 1, 2]) await rollHour(hour);
            await exportAll();
            const keys = [...current.keys()];
            for (const round of history.rounds) {
              const touched = new Set<number>();
              for (const { pick, change } of round) {
                const key = keys[pick % keys.length]!;
                current.set(key, change ?? (current.get(key) ? undefined : history.records.find((r) => `${r.lb}/${r.hour}` === key)!.f));
                touched.add(Number(key.split('/')[1]));
              }
              for (const hour of touched) await rollHour(hour);
              await exportAll();
            }
            assert.deepEqual(nonZero(engine.totals()), nonZero(await finalTotals(store)));
          } finally {
            await engine.close();
            await store.close();
          }
        }), { numRuns: runs, ...(process.env.PROPERTY_SEED ? { seed: Number(process.env.PROPERTY_SEED) } : {}) });
      });
    }
  });
}
