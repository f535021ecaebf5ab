// `npm run bench -- --fleet 1000000`: the pipeline's work at a fleet ten times the bench's, on
// demand (about 45 minutes here, and up to 35 GB of disk at once): the poll cycle of N x 2 hosts,
// the rollup of an hour, the billing day streamed (24 records a load balancer), compaction of
// readings; each against its COPY baseline at the same size where it has one, and each against
// the same work at the default fleet (100k) measured in the same run: the growth.

import { compactionOfADay, pollCycle, rollupOfAnHour, type CompactionResult } from './pipeline.ts';
import { billingDay, type BillingDayResult } from './billing.ts';
import { dropPgDatabase, usageStore } from './fixtures.ts';
import type { Row } from './run.ts';


interface AtSize {
  n: number;
  poll: { pollMs: number; copyMs: number; rows: number };
  rollupMs: number;
  /** Heap the rollup of the hour took above what the process held before it. */
  rollupHeapMb: number;
  billing: BillingDayResult;
  compaction: CompactionResult;
}

/**
 * Hours of readings compacted at each size: a whole 1M-LB day is 576M rows, 122 GB before
 * compaction, more than this machine's free disk; a quarter of it (144M rows) measures the same
 * work per row, and the default fleet compacts the same quarter for the growth.
 */
export const COMPACTION_HOURS = 6;

async function measure(n: number, log: (s: string) => void): Promise<AtSize> {
  // Each store goes as soon as it is measured: at 1M, the four together pass 70 GB.
  log(`fleet ${n}: poll cycle`);
  const poll = await pollCycle(n);
  await dropPgDatabase('lbmeter_bench_poll');
  log(`fleet ${n}: rollup of an hour`);
  const { rollupMs, heapMb: rollupHeapMb } = await rollupOfAnHour(n);
  await dropPgDatabase('lbmeter_bench_rollup');
  log(`fleet ${n}: billing day`);
  const sizes = { loadBalancers: n, records: n * 24 };
  const setup = await usageStore('postgres', sizes, log);
  let billing: BillingDayResult;
  try {
    billing = await billingDay(setup, n);
  } finally {
    await setup.store.close();
  }
  await dropPgDatabase(`lbmeter_bench_${n}_${n * 24}`);
  log(`fleet ${n}: compaction of ${COMPACTION_HOURS} hours of readings`);
  const compaction = await compactionOfADay(n, COMPACTION_HOURS);
  await dropPgDatabase('lbmeter_bench_compaction');
  return { n, poll, rollupMs, rollupHeapMb, billing, compaction };
}

export async function fleetGrowth(big: number, log: (s: string) => void): Promise<Row[]> {
  const small = await measure(100_000, log);
  const large = await measure(big, log);
  const ms = (v: number) => `${Math.round(v)} ms`;
  const x = (v: number) => `${v.toFixed(2)}x`;
  const growth = (what: string, a: number, b: number, extra = ''): Row => ({
    target: `growth of ${what}, ${small.n} to ${large.n} LBs [pg]`, goal: '10x the fleet: <= 11x the time',
    measured: ms(b), baseline: `${small.n} LBs ${ms(a)}${extra}`, ratio: x(b / a), pass: b / a <= 11,
  });
  const { poll, billing, compaction } = large;
  return [
    {
      target: `poll cycle: ${large.n} LBs x 2 hosts, CSV to stored deltas, median of 3 [pg]`, goal: 'throughput >= 1/2 of COPY (ratio <= 2)',
      measured: ms(poll.pollMs), baseline: `COPY ${poll.rows} rows ${ms(poll.copyMs)}`, ratio: x(poll.pollMs / poll.copyMs), pass: poll.pollMs / poll.copyMs <= 2,
    },
    growth('the poll cycle', small.poll.pollMs, poll.pollMs),
    { target: `rollup of one hour: ${large.n} LBs x 12 polls [pg]`, goal: 'well within the hour', measured: ms(large.rollupMs), baseline: '-', ratio: '-', pass: large.rollupMs < 600_000 },
    growth('the rollup of an hour', small.rollupMs, large.rollupMs),
    {
      target: `heap rolling up an hour, ${small.n} to ${large.n} LBs [pg]`, goal: 'flat: under 200 MB at both', measured: `${Math.round(large.rollupHeapMb)} MB`,
      baseline: `${small.n} LBs ${Math.round(small.rollupHeapMb)} MB`, ratio: x(large.rollupHeapMb / small.rollupHeapMb), pass: large.rollupHeapMb < 200 && small.rollupHeapMb < 200,
    },
    {
      target: `billing day, ${large.n} LBs (${billing.records} records), JSON [pg]`, goal: '<= 2x COPY of the same query',
      measured: ms(billing.jsonMs), baseline: `COPY TO STDOUT ${ms(billing.copyMs)}`, ratio: x(billing.jsonMs / billing.copyMs), pass: billing.jsonMs / billing.copyMs <= 2,
    },
    {
      target: `billing day, ${large.n} LBs (${billing.records} records), XML [pg]`, goal: '<= 2x COPY of the same query',
      measured: ms(billing.xmlMs), baseline: `COPY TO STDOUT ${ms(billing.copyMs)}`, ratio: x(billing.xmlMs / billing.copyMs), pass: billing.xmlMs / billing.copyMs <= 2,
    },
    growth('the billing day (JSON)', small.billing.jsonMs, billing.jsonMs),
    {
      target: `RSS streaming the billing day, ${small.n} to ${large.n} LBs [pg]`, goal: 'flat: under 200 MB at both', measured: `${Math.round(billing.peakRssMb)} MB`,
      baseline: `${small.n} LBs ${Math.round(small.billing.peakRssMb)} MB`, ratio: x(billing.peakRssMb / small.billing.peakRssMb), pass: billing.peakRssMb < 200 && small.billing.peakRssMb < 200,
    },
    {
      target: `compaction of ${COMPACTION_HOURS} hours of readings: ${large.n} LBs x 2 hosts [pg]`, goal: 'a whole day well within the day',
      measured: ms(compaction.compactMs), baseline: `${compaction.rowsBefore} rows -> ${compaction.rowsAfter}`, ratio: '-', pass: (compaction.compactMs * 24) / COMPACTION_HOURS < 6 * 3_600_000,
    },
    growth(`compaction (${COMPACTION_HOURS} hours)`, small.compaction.compactMs, compaction.compactMs),
  ];
}
