// Prometheus metrics of one lbmeter process (prom-client). Counters and histograms count what
// this process did; the gauges of the pipeline's state (held anomalies, rollup lag, export
// backlog) are read from the store at scrape time, so every process reports the same truth.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.ts';
import type { HostPollReport } from './ingest/poller.ts';
import { countAnomalies, unbilledBytes } from './store/anomalies.ts';
import { rollupLagMs } from './store/hours.ts';
import { exportBacklog } from './store/usageRecords.ts';
import { countDeadLetters } from './store/exports.ts';
import { MAX_CLOCK_SKEW_MS, measureClockSkew } from './ingest/clockSkew.ts';

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
    labelNames: ['name'] as const, registers: [this.registry],
  });
  readonly samples = new Counter({
    name: 'lbmeter_samples_ingested_total', help: 'Load balancer counter readings stored, by source (poll, push)',
    labelNames: ['source'] as const, registers: [this.registry],
  });
  readonly exports = new Counter({
    name: 'lbmeter_export_records_total', help: 'Usage records offered to the billing sink, by result (delivered, duplicate: the sink had it, failed: to be retried)',
    labelNames: ['result'] as const, registers: [this.registry],
  });

  constructor(store: Store, now: () => number = Date.now) {
    // Under their standard names (process_*, nodejs_*), which stock Node.js dashboards query.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'lbmeter_anomalies_held', help: 'Anomalies waiting for an operator, by kind', labelNames: ['kind'] as const, registers: [this.registry],
      async collect() {
        this.reset();
        for (const [kind, count] of await countAnomalies(store.db, 'HELD')) this.set({ kind }, count);
      },
    });
    new Gauge({
      name: 'lbmeter_rollup_lag_seconds', help: 'Ended time not rolled up yet: from the end of the newest rolled hour to the end of the newest ended hour',
      registers: [this.registry],
      async collect() {
        this.set((await rollupLagMs(store.db, now())) / 1000);
      },
    });
    new Gauge({
      name: 'lbmeter_export_backlog_records', help: 'Final usage records not exported yet', registers: [this.registry],
      async collect() {
        this.set(await exportBacklog(store.db));
      },
    });
    new Gauge({
      name: 'lbmeter_export_dead_letters', help: 'Usage records the billing sink refused for good, waiting for an operator (lbmeter export replay)', registers: [this.registry],
      async collect() {
        this.set(await countDeadLetters(store.db));
      },
    });
    new Gauge({
      // Named as a total (issue 20) though read from the store: what is held now, not a count of events.
      name: 'lbmeter_unbilled_bytes_total', help: 'Bytes that bill nothing while undecided, by kind: frontends no CREATE names (UNKNOWN_LOAD_BALANCER), readings after a deletion (SAMPLE_AFTER_DELETE)',
      labelNames: ['kind'] as const, registers: [this.registry],
      async collect() {
        for (const [kind, bytes] of await unbilledBytes(store.db)) this.set({ kind }, bytes);
      },
    });
    new Gauge({
      name: 'lbmeter_clock_skew_seconds', help: `This process's clock minus the store's; a poller more than ${MAX_CLOCK_SKEW_MS / 1000} s off refuses to poll`,
      registers: [this.registry],
      async collect() {
        this.set((await measureClockSkew(store.db)).skewMs / 1000);
      },
    });
  }

  observePolls(reports: HostPollReport[]): void {
    for (const r of reports) {
      const host = String(r.hostId);
      this.polls.inc({ host, result: r.busy ? 'busy' : r.ok ? 'ok' : 'failed' });
      if (r.busy) continue;
      this.pollSeconds.observe({ host }, r.durationMs / 1000);
      if (r.ok && !r.duplicate) this.samples.inc({ source: 'poll' }, r.loadBalancers);
    }
  }
}
