// `npm run bench [-- --quick] [-- --only poll,rollup,ids,compaction,pages,load,billing] [-- --fleet 1000000]`: every performance
// target of DESIGN.md, measured in one run against its baseline from the same run, printed as
// one table. --quick uses small data and short runs: a smoke test that the benchmarks still
// work, not a measurement. --only runs the named groups. --fleet N runs the pipeline at N load
// balancers and at 100k for the growth, and nothing else (bench/fleet.ts; on demand, not by default).

import { cpus, totalmem } from 'node:os';
import { compactionOfADay, pollCycle, recordIdsOverADay, rollupOfAnHour } from './pipeline.ts';
import { pageTargets } from './pages.ts';
import { usageStore, type Sizes } from './fixtures.ts';
import { billingDay, currentUsage, type BillingDayResult } from './billing.ts';
import { CLIENT_PERIOD_MS, readsUnderLoad } from './load.ts';
import { fleetGrowth } from './fleet.ts';

const quick = process.argv.includes('--quick');
const fleetAt = process.argv.indexOf('--fleet');
const fleet = fleetAt < 0 ? undefined : Number(process.argv[fleetAt + 1]);
if (fleet !== undefined && !(Number.isInteger(fleet) && fleet >= 100_000)) throw new Error('--fleet takes a number of load balancers, at least 100000');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? undefined : new Set(process.argv[onlyAt + 1]?.split(','));
const want = (group: string) => !only || only.has(group);
const sizes: Sizes = quick ? { loadBalancers: 2_000, records: 40_000 } : { loadBalancers: 100_000, records: 10_000_000 };
const log = (line: string) => process.stderr.write(`${line}\n`);

/** A line of the printed table. */
export interface Row {
  target: string;
  goal: string;
  measured: string;
  baseline: string;
  ratio: string;
  pass: boolean;
}
const rows: Row[] = [];
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const x = (v: number) => `${v.toFixed(2)}x`;

log(`lbmeter bench${quick ? ' --quick' : ''}: ${sizes.loadBalancers} load balancers, ${sizes.records} usage records; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`);

// On demand, apart from the default run: the pipeline at a fleet of the given size.
if (fleet !== undefined) rows.push(...(await fleetGrowth(fleet, log)));

if (fleet === undefined && want('poll')) {
  log('poll cycle (PostgreSQL)');
  const poll = await pollCycle(sizes.loadBalancers);
  rows.push({
    target: `poll cycle: ${sizes.loadBalancers} LBs x 2 hosts, CSV to stored deltas, median of 3 [pg]`,
    goal: 'under 3 s; throughput >= 1/2 of COPY (ratio <= 2)',
    measured: ms(poll.pollMs), baseline: `COPY ${poll.rows} rows ${ms(poll.copyMs)}`, ratio: x(poll.pollMs / poll.copyMs),
    pass: poll.pollMs < 3000 && poll.pollMs / poll.copyMs <= 2,
  });
}

if (fleet === undefined && want('rollup')) {
  log('rollup of one hour (PostgreSQL)');
  const rollup = await rollupOfAnHour(sizes.loadBalancers);
  rows.push({
    target: `rollup of one hour: ${sizes.loadBalancers} LBs x 12 polls [pg]`, goal: 'under 10 s',
    measured: ms(rollup.rollupMs), baseline: `heap ${Math.round(rollup.heapMb)} MB`, ratio: '-', pass: rollup.rollupMs < 10_000,
  });
}

if (fleet === undefined && want('ids')) {
  log('record ids over a day of rollups (PostgreSQL)');
  const ids = await recordIdsOverADay(sizes.loadBalancers);
  rows.push({
    target: `record ids handed out per record, a day of hourly rollups (${ids.rolls} rolls, grace 2 h): ${sizes.loadBalancers} LBs [pg]`,
    goal: '1.00; ids below 2^31 - 1 for ten years of 1M LBs',
    measured: `${(ids.idsConsumed / ids.records).toFixed(2)} (${ids.idsConsumed} for ${ids.records})`,
    baseline: `ids wrap in ${ids.wrapYear}, whatever the fleet's size`, ratio: '-',
    pass: ids.idsConsumed === ids.records && ids.wrapYear >= new Date().getUTCFullYear() + 10,
  });
}

if (fleet === undefined && want('compaction')) {
  log('compaction of a day of readings (PostgreSQL)');
  const c = await compactionOfADay(sizes.loadBalancers);
  const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
  // The paper model's fleet: 1M load balancers, whose day is 10x this one's.
  const perMillionGb = (c.bytesAfter * (1_000_000 / sizes.loadBalancers)) / 1e9;
  rows.push(
    {
      target: `compaction of a day: ${sizes.loadBalancers} LBs x 2 hosts x 288 readings [pg]`, goal: 'done well within the day',
      measured: ms(c.compactMs), baseline: `${c.rowsBefore} rows -> ${c.rowsAfter}`, ratio: '-', pass: c.compactMs < 3_600_000,
    },
    {
      target: 'readings on disk for 1M LBs a day, once compacted [pg]', goal: 'under 10 GB',
      measured: `${perMillionGb.toFixed(1)} GB`, baseline: `${mb(c.bytesBefore)} raw -> ${mb(c.bytesAfter)} (${sizes.loadBalancers} LBs)`,
      ratio: x(c.bytesBefore / c.bytesAfter), pass: perMillionGb < 10,
    },
  );
}

if (fleet === undefined && want('pages')) {
  for (const engine of ['postgres', 'sqlite'] as const) {
    const tag = engine === 'postgres' ? 'pg' : 'sqlite';
    log(`pages (${engine})`);
    const setup = await usageStore(engine, sizes, log);
    try {
      const r = await pageTargets(setup, sizes, { samples: quick ? 10 : 200, seconds: quick ? 1 : 5 });
      rows.push(
        ...(['p50', 'p99'] as const).map((p) => ({
          target: `1000-record page made from the store, ${p}, median of 3 [${tag}]`, goal: '<= 1.3x its query run bare', measured: ms(r.page[p]),
          baseline: `bare SQL ${ms(r.bareSql[p])}${p === 'p50' ? ` (store's read ${ms(r.storeReadMs)})` : ''}; its bytes from bare node:http ${ms(r.bytesOverHttp[p])}`, ratio: x(r.page[p] / r.bareSql[p]), pass: r.page[p] / r.bareSql[p] <= 1.3,
        })),
        { target: `last page of ${sizes.records} records by next [${tag}]`, goal: '<= 1.5x first page', measured: ms(r.lastPageMs), baseline: `first ${ms(r.firstPageMs)}`, ratio: x(r.lastPageMs / r.firstPageMs), pass: r.lastPageMs / r.firstPageMs <= 1.5 },
        { target: `JSON 1000-record pages a second [${tag}]`, goal: '>= 400/s', measured: `${Math.round(r.jsonPagesPerSecond)}/s`, baseline: `bare node:http ${Math.round(r.ceilingPagesPerSecond)}/s`, ratio: x(r.jsonPagesPerSecond / r.ceilingPagesPerSecond), pass: r.jsonPagesPerSecond >= 400 },
        { target: `XML page, p50 [${tag}]`, goal: '<= 1.5x JSON page', measured: ms(r.xmlPageMs), baseline: `JSON ${ms(r.jsonPageMs)}`, ratio: x(r.xmlPageMs / r.jsonPageMs), pass: r.xmlPageMs / r.jsonPageMs <= 1.5 },
        { target: `RSS serving pages while ingesting ${sizes.loadBalancers} LBs [${tag}]`, goal: 'under 200 MB', measured: `${Math.round(r.peakRssMb)} MB`, baseline: '-', ratio: '-', pass: r.peakRssMb < 200 },
      );
    } finally {
      await setup.store.close();
    }
}

}

if (fleet === undefined && want('load')) {
  log('reads under load (PostgreSQL)');
  const options = quick
    ? { loadBalancers: 2_000, clients: 5, seconds: 5, pollIntervalS: 2, jobIntervalS: 2 }
    : { loadBalancers: sizes.loadBalancers, clients: 50, seconds: 60, pollIntervalS: 10, jobIntervalS: 30 };
  const r = await readsUnderLoad(options, log);
  const tag = `${options.clients} clients x ${1000 / CLIENT_PERIOD_MS}/s, ${options.seconds} s, ${options.loadBalancers} LBs`;
  for (const e of r.endpoints) {
    const goal = e.name.startsWith('management') ? 100 : 50;
    rows.push({
      target: `under load: ${e.name}, p99 (${tag}) [pg]`, goal: `p99 <= ${goal} ms, no errors`, measured: ms(e.latency.p99),
      baseline: `quiet p99 ${ms(e.quiet.p99)}; p50 ${ms(e.latency.p50)}, max ${ms(e.latency.max)}, ${e.count} reads${e.errors ? `, ${e.errors} errors` : ''}`, ratio: x(e.latency.p99 / e.quiet.p99),
      pass: e.latency.p99 <= goal && e.errors === 0 && e.count > 0,
    });
  }
  const poll = r.loadedPollMs;
  rows.push(
    {
      target: `under load: poll cycle, ${options.loadBalancers} LBs x 2 hosts every ${options.pollIntervalS} s, rollup and export every ${options.jobIntervalS} s (${r.exported} records sent) [pg]`,
      goal: 'never overruns its interval', measured: `mean ${ms(poll.mean)}, max ${ms(poll.max)} (${poll.cycles} cycles, ${r.pollOverruns} skipped)`,
      baseline: `idle ${ms(r.idlePollMs)}`, ratio: x(poll.mean / r.idlePollMs), pass: r.pollOverruns === 0 && poll.cycles > 0 && poll.max < options.pollIntervalS * 1000,
    },
    {
      target: `under load: peak RSS of each process (${r.rssMb.map((p) => p.role).join(', ')}) [pg]`, goal: 'under 250 MB each',
      measured: `${Math.round(Math.max(...r.rssMb.map((p) => p.mb)))} MB`, baseline: r.rssMb.map((p) => `${Math.round(p.mb)}`).join(' / ') + ' MB', ratio: '-',
      pass: r.rssMb.every((p) => p.mb < 250),
    },
  );
}

// The billing day of the whole fleet (the pages' store holds its first day), and of a quarter of
// it (a store of its own), on PostgreSQL.
if (fleet === undefined && want('billing')) {
  log('billing day (PostgreSQL)');
  const days: BillingDayResult[] = [];
  for (const n of [sizes.loadBalancers / 4, sizes.loadBalancers]) {
    const daySizes = n === sizes.loadBalancers ? sizes : { loadBalancers: n, records: n * 24 };
    const setup = await usageStore('postgres', daySizes, log);
    try {
      days.push(await billingDay(setup, n));
      if (n === sizes.loadBalancers) {
        const current = await currentUsage(setup, Math.ceil(n / 2), quick ? 10 : 50);
        rows.push({
          target: `tenant's /usage/current on a ${n}-LB fleet [pg]`, goal: '<= 2x /usage, same LB', measured: ms(current.currentMs),
          baseline: `/usage ${ms(current.usageMs)}`, ratio: x(current.currentMs / current.usageMs), pass: current.currentMs / current.usageMs <= 2,
        });
      }
    } finally {
      await setup.store.close();
    }
}
const [quarter, whole] = days as [BillingDayResult, BillingDayResult];
for (const [format, measured] of [['JSON', whole.jsonMs], ['XML', whole.xmlMs]] as const) {
  rows.push({
    target: `billing day, ${whole.loadBalancers} LBs (${whole.records} records), ${format}, median of 3 [pg]`, goal: '<= 2x COPY of the same query',
    measured: ms(measured), baseline: `COPY TO STDOUT ${ms(whole.copyMs)}`, ratio: x(measured / whole.copyMs), pass: measured / whole.copyMs <= 2,
  });
}
rows.push(
  { target: `RSS streaming the billing day of ${whole.loadBalancers} LBs [pg]`, goal: 'under 200 MB', measured: `${Math.round(whole.peakRssMb)} MB`, baseline: '-', ratio: '-', pass: whole.peakRssMb < 200 },
  {
    target: `billing day growth, ${quarter.loadBalancers} to ${whole.loadBalancers} LBs (JSON) [pg]`, goal: '4x the fleet: <= 4.5x the time',
    measured: ms(whole.jsonMs), baseline: `${quarter.loadBalancers} LBs ${ms(quarter.jsonMs)}; its COPY ${x(whole.copyMs / quarter.copyMs)} (${ms(quarter.copyMs)} to ${ms(whole.copyMs)})`,
    ratio: x(whole.jsonMs / quarter.jsonMs), pass: whole.jsonMs / quarter.jsonMs <= 4.5,
  },
);
}

const header: Row = { target: 'target', goal: 'goal', measured: 'measured', baseline: 'baseline', ratio: 'ratio', pass: true };
const keys = ['target', 'goal', 'measured', 'baseline', 'ratio'] as const;
const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
const line = (r: Row, verdict: string) => `| ${keys.map((k, i) => r[k].padEnd(widths[i]!)).join(' | ')} | ${verdict.padEnd(6)} |`;
console.log(`\nlbmeter bench ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick: a smoke run, not a measurement)' : ''}`);
console.log(line(header, 'result'));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|--------|`);
for (const r of rows) console.log(line(r, r.pass ? 'pass' : 'short'));
process.exit(0);
