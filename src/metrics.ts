// Prometheus metrics of one lbmeter process (prom-client). Counters and histograms count what
// this process did; the gauges of the pipeline's state (held anomalies, rollup lag, export
// backlog, when each host was last read) are read from the store at scrape time, so every
// process reports the same truth. With API workers (node:cluster) the primary reads the store
// gauges once and sums the counters of every process (metricsCluster.ts).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.ts';
import type { HostPollReport } from './ingest/poller.ts';
import type { MeteredBytes } from './ingest/samples.ts';
import { countAnomalies, unbilledBytes } from './store/anomalies.ts';
import { rollupLagMs } from './store/hours.ts';
import { exportBacklog, oldestExportDueEnd } from './store/usageRecords.ts';
import { countDeadLetters } from './store/exports.ts';
import { listHosts } from './store/inventory.ts';
import { newestReadingPerHost } from './store/counters.ts';
import { MAX_CLOCK_SKEW_MS, measureClockSkew } from './ingest/clockSkew.ts';

export interface MetricsOptions {
  now?: () => number;
  /** A billing sink is configured: the export backlog is a state worth watching (off: no backlog series). */
  exportSink?: boolean;
  /** LBMETER_GRACE: a record may be exported from its hour's end plus this. */
  graceMs?: number;
  /** Read the pipeline's state from the store (off in API workers: their primary reads it once). */
  storeGauges?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'lbmeter_http_requests_total', help: 'HTTP requests answered, by route template and status',
    labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'lbmeter_http_request_duration_seconds', help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });
  readonly polls = new Counter({
    name: 'lbmeter_host_polls_total', help: 'Host polls by this process, by host and result (ok, failed, busy: read by another process)',
    labelNames: ['host', 'result'] as const, registers: [this.registry],
  });
  readonly pollSeconds = new Histogram({
    name: 'lbmeter_host_poll_duration_seconds', help: 'Time to read a host and store its deltas',
    labelNames: ['host'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  readonly jobSeconds = new Histogram({
    // The job's label is `name`: Prometheus gives every scraped series a `job` label of its own
    // (the scrape job), and renames a series' `job` to `exported_job`, which alert rules then miss.
    name: 'lbmeter_job_duration_seconds', help: 'Time a scheduled job (poll, rollup, retention, export, compaction, demo) took, by job name',
    labelNames: ['name'] as const, buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800], registers: [this.registry],
  });
  readonly jobOverruns = new Counter({
    name: 'lbmeter_job_overruns_total', help: 'Scheduled runs skipped because the job\'s previous run was still going, by job',
    labelNames: ['name'] as const, registers: [this.registry],
  });
  readonly jobLastSuccess = new Gauge({
    name: 'lbmeter_job_last_success_timestamp_seconds', help: 'When a scheduled job last finished without an error, by job (Unix seconds)',
    labelNames: ['name'] as const, registers: [this.registry], aggregator: 'max',
  });
  readonly samples = new Counter({
    name: 'lbmeter_samples_ingested_total', help: 'Load balancer counter readings stored, by source (poll, push)',
    labelNames: ['source'] as const, registers: [this.registry],
  });
  readonly jobFailures = new Counter({
    name: 'lbmeter_job_failures_total', help: 'Scheduled job runs that ended in an error, by job name (the error is in the log)',
    labelNames: ['name'] as const, registers: [this.registry],
  });
  readonly meteredBytes = new Counter({
    name: 'lbmeter_metered_bytes_total', help: 'Bytes of the counter deltas this process took into the chain for billing (held ones aside), by direction (SSL included)',
    labelNames: ['direction'] as const, registers: [this.registry],
  });
  readonly counterClears = new Counter({
    name: 'lbmeter_counter_clears_total', help: 'Readings stored that count from zero because their HAProxy process\'s counters were cleared (clear counters all: the same process, lower counters), by host: what it counted between the read before and the clear is not billed',
    labelNames: ['host'] as const, registers: [this.registry],
  });

  readonly busEventMessages = new Counter({
    name: 'lbmeter_bus_event_messages_total', help: 'Lifecycle event messages consumed from the bus (LBMETER_EVENTS_URL), by result: stored, dead_letter (refused, with the reason), retried (the store could not take them; delivered again)',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  readonly exports = new Counter({
    name: 'lbmeter_export_records_total', help: 'Usage records offered to the billing sink, by result (delivered, duplicate: the sink had it, failed: to be retried)',
    labelNames: ['result'] as const, registers: [this.registry],
  });

  /** The text a scrape gets: this registry's, or its process group's (metricsCluster.ts). */
  exposition: () => Promise<string> = () => this.registry.metrics();

  constructor(store: Store, options: MetricsOptions = {}) {
    const now = options.now ?? Date.now;
    // Under their standard names (process_*, nodejs_*), which stock Node.js dashboards query.
    collectDefaultMetrics({ register: this.registry });
    if (options.storeGauges === false) return;
    // One process reads these for a cluster ('first' if another sent them too): never summed.
    const stateGauge = (name: string, help: string, collect: (gauge: Gauge<string>) => Promise<void>, labelNames: string[] = []) => new Gauge({
      name, help, labelNames, registers: [this.registry], aggregator: 'first',
      async collect() {
        await collect(this);
      },
    });
    stateGauge('lbmeter_anomalies_held', 'Anomalies waiting for an operator, by kind', async (g) => {
      g.reset();
      for (const [kind, count] of await countAnomalies(store.db, 'HELD')) g.set({ kind }, count);
    }, ['kind']);
    stateGauge('lbmeter_rollup_lag_seconds', 'Ended time not rolled up yet: from the end of the newest rolled hour to the end of the newest ended hour', async (g) => {
      g.set((await rollupLagMs(store.db, now())) / 1000);
    });
    stateGauge('lbmeter_host_last_read_timestamp_seconds', 'When each host in service was last read (by any poller, or pushed by its agent), Unix seconds; 0: never read. source: poll (lbmeter reads it) or push (its agent sends)', async (g) => {
      g.reset();
      const [hosts, newest] = await Promise.all([listHosts(store.db), newestReadingPerHost(store.db)]);
      for (const h of hosts) g.set({ host: String(h.id), source: h.stats ? 'poll' : 'push' }, (newest.get(h.id) ?? 0) / 1000);
    }, ['host', 'source']);
    if (options.exportSink) {
      stateGauge('lbmeter_export_backlog_records', 'Final usage records not exported yet (only with a billing sink)', async (g) => {
        g.set(await exportBacklog(store.db));
      });
      const graceMs = options.graceMs ?? 0;
      stateGauge('lbmeter_export_backlog_age_seconds', 'How long the oldest final record not exported yet has been due: since its hour ended plus LBMETER_GRACE; 0: none waits', async (g) => {
        const end = await oldestExportDueEnd(store.db);
        g.set(end === undefined ? 0 : Math.max(0, now() - end - graceMs) / 1000);
      });
    }
    stateGauge('lbmeter_export_dead_letters', 'Usage records the billing sink refused for good, waiting for an operator (lbmeter export replay)', async (g) => {
      g.set(await countDeadLetters(store.db));
    });
    // Named as a total (issue 20) though read from the store: what is held now, not a count of events.
    stateGauge('lbmeter_unbilled_bytes_total', 'Bytes that bill nothing while undecided, by kind: frontends no CREATE names (UNKNOWN_LOAD_BALANCER), readings after a deletion (SAMPLE_AFTER_DELETE)', async (g) => {
      for (const [kind, bytes] of await unbilledBytes(store.db)) g.set({ kind }, bytes);
    }, ['kind']);
    stateGauge('lbmeter_clock_skew_seconds', `The clock of the process that read the store gauges minus the store's; a poller more than ${MAX_CLOCK_SKEW_MS / 1000} s off refuses to poll`, async (g) => {
      g.set((await measureClockSkew(store.db)).skewMs / 1000);
    });
  }

  /** A stored sample (polled or pushed): its readings and the bytes it took into the chain. */
  observeIntake(source: 'poll' | 'push', hostId: number, loadBalancers: number, metered: MeteredBytes, cleared: number): void {
    this.samples.inc({ source }, loadBalancers);
    this.meteredBytes.inc({ direction: 'in' }, metered.in);
    this.meteredBytes.inc({ direction: 'out' }, metered.out);
    if (cleared > 0) this.counterClears.inc({ host: String(hostId) }, cleared);
  }

  observePolls(reports: HostPollReport[]): void {
    for (const r of reports) {
      const host = String(r.hostId);
      this.polls.inc({ host, result: r.busy ? 'busy' : r.ok ? 'ok' : 'failed' });
      if (r.busy) continue;
      this.pollSeconds.observe({ host }, r.durationMs / 1000);
      if (r.ok && !r.duplicate && r.metered) this.observeIntake('poll', r.hostId, r.loadBalancers, r.metered, r.cleared ?? 0);
    }
  }
}
