// `npm run bench [-- --quick] [-- --only poll,rollup,ids,compaction,pages,billing]`: every performance
// target of DESIGN.md, measured in one run against its baseline from the same run, printed as
// one table. --quick uses small data and short runs: a smoke test that the benchmarks still
// work, not a measurement. --only runs the named groups.

import { cpus, totalmem } from 'node:os';
import { compactionOfADay, pollCycle, recordIdsOverADay, rollupOfAnHour } from './pipeline.ts';
import { pageTargets } from './pages.ts';
import { usageStore, type Sizes } from './fixtures.ts';
import { billingDay, currentUsage, type BillingDayResult } from './billing.ts';

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? undefined : new Set(process.argv[onlyAt + 1]?.split(','));
const want = (group: string) => !only || only.has(group);
const sizes: Sizes = quick ? { loadBalancers: 2_000, records: 40_000 } : { loadBalancers: 100_000, records: 10_000_000 };
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
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

if (want('poll')) {
  log('poll cycle (PostgreSQL)');
  const poll = await pollCycle(sizes.loadBalancers);
  rows.push({
    target: `poll cycle: ${sizes.loadBalancers} LBs x 2 hosts, CSV to stored deltas, median of 3 [pg]`,
    goal: 'under 3 s; throughput >= 1/2 of COPY (ratio <= 2)',
    measured: ms(poll.pollMs), baseline: `COPY ${poll.rows} rows ${ms(poll.copyMs)}`, ratio: x(poll.pollMs / poll.copyMs),
    pass: poll.pollMs < 3000 && poll.pollMs / poll.copyMs <= 2,
  });
}

if (want('rollup')) {
  log('rollup of one hour (PostgreSQL)');
  const rollup = await rollupOfAnHour(sizes.loadBalancers);
  rows.push({
    target: `rollup of one hour: ${sizes.loadBalancers} LBs x 12 polls [pg]`, goal: 'under 10 s',
    measured: ms(rollup.rollupMs), baseline: '-', ratio: '-', pass: rollup.rollupMs < 10_000,
  });
}

if (want('ids')) {
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

if (want('compaction')) {
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

if (want('pages')) {
  for (const engine of ['postgres', 'sqlite'] as const) {
    const tag = engine === 'postgres' ? 'pg' : 'sqlite';
    log(`pages (${engine})`);
    const setup = await usageStore(engine, sizes, log);
    try {
      const r = await pageTargets(setup, sizes, { samples: quick ? 10 : 50, seconds: quick ? 1 : 5 });
      rows.push(
        { target: `1000-record page, p50 [${tag}]`, goal: '<= 1.5x bare SQL', measured: ms(r.pageMs), baseline: `bare SQL ${ms(r.bareSqlMs)}`, ratio: x(r.pageMs / r.bareSqlMs), pass: r.pageMs / r.bareSqlMs <= 1.5 },
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

// The billing day of the whole fleet (the pages' store holds its first day), and of a quarter of
// it (a store of its own), on PostgreSQL.
if (want('billing')) {
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
    target: `billing day, ${whole.loadBalancers} LBs (${whole.records} records), ${format} [pg]`, goal: '<= 2x COPY of the same query',
    measured: ms(measured), baseline: `COPY TO STDOUT ${ms(whole.copyMs)}`, ratio: x(measured / whole.copyMs), pass: measured / whole.copyMs <= 2,
  });
}
rows.push(
  { target: `RSS streaming the billing day of ${whole.loadBalancers} LBs [pg]`, goal: 'under 200 MB', measured: `${Math.round(whole.peakRssMb)} MB`, baseline: '-', ratio: '-', pass: whole.peakRssMb < 200 },
  {
    target: `billing day growth, ${quarter.loadBalancers} to ${whole.loadBalancers} LBs (JSON) [pg]`, goal: '4x the fleet: <= 4.5x the time',
    measured: ms(whole.jsonMs), baseline: `${quarter.loadBalancers} LBs ${ms(quarter.jsonMs)}`, ratio: x(whole.jsonMs / quarter.jsonMs), pass: whole.jsonMs / quarter.jsonMs <= 4.5,
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
