// `lbmeter serve`: one process, or with LBMETER_WORKERS=N the API in N worker processes that
// share the port (node:cluster) so pages are served on every core, while the primary runs the
// poller, the jobs and the demo fleet once. Prints where to look; drains on SIGTERM.

import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { serve, type RunningServer, type ServeOptions } from '../server.ts';
import { limitHeapGrowth } from '../memory.ts';
import { retentionRule } from '../jobs/retention.ts';

export async function serveCommand(config: Config, logger: Logger, options: ServeOptions): Promise<void> {
  limitHeapGrowth(config.heapGrowthPercent);
  const workers = options.api ? config.workers : 1;
  if (cluster.isWorker) {
    // A worker serves the API only; the primary made the first token and does everything else.
    const running = await serve(config, logger, { api: true, poller: false, jobs: false, demo: false });
    return stopOnSignals(logger, running.stop);
  }
  const running = await serve(config, logger, workers > 1 ? { ...options, api: false } : options);
  let url = running.url;
  const children: ReturnType<typeof cluster.fork>[] = [];
  if (workers > 1) {
    for (let i = 0; i < workers; i++) children.push(cluster.fork());
    url = (await Promise.all(children.map((w) => new Promise<string>((resolve, reject) => {
      w.once('listening', (address) => resolve(`http://${address.address?.includes(':') ? `[${address.address}]` : address.address}:${address.port}`));
      w.once('exit', (code) => reject(new Error(`API worker exited with code ${code} before listening`)));
    }))))[0];
  }
  printWelcome(config, running, url);
  if (running.metricsUrl) console.log(`metrics: ${running.metricsUrl}/metrics   health: ${running.metricsUrl}/health`);
  if (options.jobs) console.log(`retention: ${retentionRule(config.retentionDays, !!config.export.url)}`);
  stopOnSignals(logger, async () => {
    await Promise.all(children.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      w.process.kill('SIGTERM');
    })));
    await running.stop();
  });
}

function printWelcome(config: Config, running: RunningServer, url: string | undefined): void {
  if (!url) return;
  console.log(`lbmeter API on ${url} (store: ${running.store.engine} ${config.db.startsWith('postgres') ? '' : config.db}${config.workers > 1 ? `, ${config.workers} API workers` : ''})`);
  if (running.createdToken) console.log(`management token (all roles, shown once): ${running.createdToken}`);
  console.log(`dashboard: ${url}/dashboard   API docs: ${url}/docs`);
  if (running.demo) {
    const token = running.createdToken ?? '$TOKEN';
    console.log('try:');
    console.log(`  curl -H 'X-Auth-Token: ${token}' '${url}/v1.0/${running.demo.accountId}/loadbalancers/usage'`);
    console.log(`  curl -H 'X-Auth-Token: ${token}' '${url}/v1.0/${running.demo.accountId}/loadbalancers/${running.demo.loadBalancerId}/usage/current.xml'`);
    console.log(`  curl -H 'X-Auth-Token: ${token}' '${url}/management/clusters/1/customercount'`);
  }
}

function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining and stopping');
    await stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
}
