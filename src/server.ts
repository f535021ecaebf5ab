// `lbmeter serve`: the API, the scheduled jobs and optionally the demo fleet in one process.
// Each part can be switched off so that several processes share the work.

import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { openStore, shownLocation, unusableStore, type Store } from './store/store.ts';
import { buildApp, type ApiContext } from './api/app.ts';
import { countTokens, createToken, findTokenByValue, ROLES } from './store/tokens.ts';
import { runRollup } from './jobs/rollup.ts';
import { pollHosts } from './ingest/poller.ts';
import { COUNTERS_CLEARED } from './ingest/samples.ts';
import { keepMembership, leaveMembership } from './ingest/pollerShare.ts';
import { PROCESS_HOLDER } from './jobs/leases.ts';
import { purgeExpired } from './jobs/retention.ts';
import { compactReadings } from './jobs/compaction.ts';
import { DAY_MS, HOUR_MS } from './domain/time.ts';
import { demoStoreKind, NotADemoStore, startDemoFleet } from './demo/fleet.ts';
import cluster from 'node:cluster';
import { Metrics } from './metrics.ts';
import { clusterExposition, workerExposition } from './metricsCluster.ts';
import { startMetricsServer } from './metricsServer.ts';
import { configuredSink } from './export/sinks.ts';
import { consumeEvents } from './ingest/busEvents.ts';
import { runExport } from './jobs/export.ts';

export interface ServeOptions {
  api: boolean;
  poller: boolean;
  jobs: boolean;
  demo: boolean;
  /** How often jobs (and the demo's pushes) run; defaults to the poll interval. */
  jobIntervalMs?: number;
}

export interface RunningServer {
  store: Store;
  app?: FastifyInstance;
  api?: ApiContext;
  url?: string;
  /** Where LBMETER_METRICS_PORT serves /metrics and /health. */
  metricsUrl?: string;
  /** A token printed for the operator when one was created at start. */
  createdToken?: string;
  demo?: { accountId: number; loadBalancerId: number };
  stop(): Promise<void>;
}

/** Why serve cannot start (the store or the address is not usable): one line for the operator. */
export class StartError extends Error {}

export async function serve(config: Config, logger: Logger, options: ServeOptions): Promise<RunningServer> {
  const store = await openStore(config.db).catch((err: Error) => {
    throw new StartError(unusableStore(config.db, err));
  });
  // The demo writes its fleet into an empty store or its own, never into real data.
  if (options.demo) {
    await demoStoreKind(store).catch(async (err) => {
      await store.close();
      throw err instanceof NotADemoStore ? new StartError(`the store at ${shownLocation(config.db)}: ${err.message}`) : err;
    });
  }
  // An API worker's counters are summed by its primary, which reads the store gauges once.
  const metrics = new Metrics(store, { exportSink: !!config.export.url, graceMs: config.graceMs, storeGauges: !cluster.isWorker });
  metrics.exposition = cluster.isWorker ? workerExposition(metrics.registry) : clusterExposition(metrics.registry);
  const running: RunningServer = { store, stop: async () => {} };
  const closing: (() => Promise<unknown>)[] = [];
  // The address first: a port that is taken stops the start before anything else runs, so no
  // poller or job is left working behind a process that has no API.
  if (options.api) {
    try {
      const { app, api } = await buildApp({ store, config, logger, metrics });
      running.app = app;
      running.api = api;
      running.url = await app.listen({ host: config.host, port: config.port });
    } catch (err) {
      await running.app?.close().catch(() => {});
      await store.close();
      throw listenFailure(err, config.host, config.port, 'LBMETER_PORT');
    }
  }
  if (config.metricsPort !== undefined && !cluster.isWorker) {
    try {
      const { app, url } = await startMetricsServer({ host: config.host, port: config.metricsPort, store, metrics, roles: { api: options.api, poller: options.poller, jobs: options.jobs } });
      running.metricsUrl = url;
      closing.push(() => app.close());
    } catch (err) {
      await running.app?.close().catch(() => {});
      await store.close();
      throw listenFailure(err, config.host, config.metricsPort, 'LBMETER_METRICS_PORT');
    }
  }
  const createdToken = await bootstrapTokens(store, config);
  if (createdToken) running.createdToken = createdToken;

  const timers: NodeJS.Timeout[] = [];
  const releases: (() => Promise<void>)[] = [];
  const inFlight = new Set<Promise<unknown>>();
  /**
   * Runs a job on its own schedule, apart from the others: a hanging export or a long rollup
   * never delays a poll (a missed poll doubles a reading's interval). A run that comes due while
   * the job's previous one still goes is skipped and counted, never started twice. Shutdown waits
   * for the runs in flight.
   */
  const schedule = (everyMs: number, name: string, work: () => Promise<unknown>) => {
    let running = false;
    const run = () => {
      if (running) {
        metrics.jobOverruns.inc({ name });
        logger.warn({ job: name }, 'job still running from its last turn; this turn skipped');
        return;
      }
      running = true;
      const timer = metrics.jobSeconds.startTimer({ name });
      const done: Promise<unknown> = work()
        .then(() => metrics.jobLastSuccess.set({ name }, Date.now() / 1000))
        .catch((err) => {
          metrics.jobFailures.inc({ name });
          logger.error({ err, job: name }, 'job failed');
        })
        .finally(() => {
          timer();
          running = false;
          inFlight.delete(done);
        });
      inFlight.add(done);
    };
    timers.push(setInterval(run, everyMs));
    run();
  };

  const interval = options.jobIntervalMs ?? config.jobIntervalMs;
  if (options.demo) {
    logger.info('starting the demo fleet (6 hours of history on an empty store; on its own store, it resumes)');
    const fleet = await startDemoFleet(store, { deltaCeiling: config.deltaCeiling });
    running.demo = { accountId: fleet.sampleAccountId, loadBalancerId: fleet.sampleLoadBalancerId };
    schedule(interval, 'demo', () => fleet.tick(Date.now()));
  }
  if (options.poller) {
    // The membership beats four times an interval (at most every 10 s) and lapses after two
    // missed beats, so a dead poller's hosts are dealt to the others within about one interval;
    // its read leases last as long, so a read it died in does not keep the host from them.
    const beatMs = Math.min(Math.max(Math.round(config.pollIntervalMs / 4), 250), 10_000);
    const memberMs = 2 * beatMs;
    const beat = () => keepMembership(store.db, PROCESS_HOLDER, memberMs).catch((err) => logger.warn({ err }, 'poller membership not renewed'));
    await beat();
    timers.push(setInterval(beat, beatMs));
    // Leaving at stop hands this process's hosts to the others at once.
    releases.push(() => leaveMembership(store.db, PROCESS_HOLDER));
    schedule(config.pollIntervalMs, 'poll', async () => {
      const reports = await pollHosts(store, { timeoutMs: config.pollTimeoutMs, deltaCeiling: config.deltaCeiling, shareWithPollers: true, readLeaseMs: memberMs });
      metrics.observePolls(reports);
      logger.debug({ polled: reports.filter((r) => r.ok && !r.busy).map((r) => r.hostId) }, 'poll cycle');
      for (const r of reports) {
        if (!r.ok) logger.warn({ hostId: r.hostId, host: r.name, error: r.error }, 'host poll failed');
        if (r.cleared) logger.warn({ hostId: r.hostId, host: r.name, loadBalancers: r.cleared }, COUNTERS_CLEARED);
      }
    });
  }
  // Another process holding the rollup lease does the work; this one tries again next time.
  if (options.jobs) {
    schedule(interval, 'rollup', () => runRollup(store, { graceMs: config.graceMs }));
    schedule(HOUR_MS, 'retention', () => purgeExpired(store, Date.now() - config.retentionDays * DAY_MS, { exportSink: !!config.export.url }));
    schedule(HOUR_MS, 'compaction', async () => {
      for (const d of (await compactReadings(store, config.readingsDays)).days) {
        logger.info({ day: new Date(d.dayMs).toISOString().slice(0, 10), rowsBefore: d.rowsBefore, rowsAfter: d.rowsAfter }, 'readings compacted into hourly rows');
      }
    });
    if (config.events.url) {
      const consumer = consumeEvents(store, { url: config.events.url, topic: config.events.topic, logger, metrics });
      closing.unshift(() => consumer.stop()); // before the store closes
    }
    const sink = configuredSink(config.export);
    if (sink) {
      closing.push(async () => sink.close?.());
      schedule(interval, 'export', async () => {
        const r = await runExport(store, sink, { ...config.export, metrics });
        if (r.stoppedBy) logger.warn({ failed: r.failed, deadLettered: r.deadLettered, reason: r.stoppedBy }, 'export stopped; retrying later');
      });
    }
  }

  running.stop = async () => {
    for (const t of timers) clearInterval(t);
    if (running.api) running.api.closing = true;
    await running.app?.close(); // drains requests in flight
    await Promise.all([...inFlight]); // finishes the runs in flight
    for (const close of closing) await close().catch(() => {});
    for (const release of releases) await release().catch(() => {});
    await store.close();
  };
  return running;
}

/** Why an address could not be listened on, naming the variables that set it. */
function listenFailure(err: unknown, host: string, port: number, portVariable: string): StartError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'the address is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : (err as Error).message;
  return new StartError(`cannot listen on ${host}:${port} (LBMETER_HOST, ${portVariable}): ${why}`);
}

/** LBMETER_BOOTSTRAP_TOKEN, or a first token when the store has none; returns a new value to print. */
async function bootstrapTokens(store: Store, config: Config): Promise<string | undefined> {
  if (config.bootstrapToken) {
    if (!(await findTokenByValue(store.db, config.bootstrapToken))) {
      await createToken(store.db, { roles: [...ROLES], label: 'bootstrap (LBMETER_BOOTSTRAP_TOKEN)', value: config.bootstrapToken });
    }
    return undefined;
  }
  if ((await countTokens(store.db)) > 0) return undefined;
  const { value } = await createToken(store.db, { roles: [...ROLES], label: 'created at first start' });
  return value;
}
