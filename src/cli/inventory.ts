// `lbmeter clusters` and `lbmeter hosts`: the inventory the poller reads, kept from a shell as the
// API keeps it (PUT and DELETE /management/clusters|hosts), with the same checks.

import { Option, type Command } from 'commander';
import { DATA_CENTER_PATTERN, getCluster, listClusters, listHosts, NAME_MAX_LENGTH, putCluster, putHost, removeCluster, retireHost, type Host } from '../store/inventory.ts';
import { hostView, statsSourceOf, StatsSourceRefused } from '../ingest/statsSources.ts';
import { NotFound, positiveInt, printRows, UsageError, withStore } from './common.ts';

const DATA_CENTER = new RegExp(DATA_CENTER_PATTERN);

/** A name as the API takes it, or the one line saying what is wrong. */
function checkName(name: string): void {
  if (name.length === 0 || name.length > NAME_MAX_LENGTH) throw new UsageError(`--name: 1 to ${NAME_MAX_LENGTH} characters`);
}

export function inventoryCommands(program: Command): void {
  const clusters = program.command('clusters').description('Clusters: where load balancers and hosts live');
  clusters.command('list')
    .description('List clusters')
    .option('--json', 'one JSON array instead of lines')
    .addHelpText('after', '\nExamples:\n  lbmeter clusters list\n  lbmeter clusters list --json')
    .action((opts: { json?: boolean }) => withStore(async (store) => {
      printRows(await listClusters(store.db), opts.json, (c) => [c.id, c.name, c.dataCenter]);
    }));
  clusters.command('put')
    .description('Create or rename a cluster')
    .argument('<id>', 'cluster id (the one provisioning events name)', positiveInt)
    .requiredOption('--name <name>', 'its name')
    .requiredOption('--data-center <code>', 'DFW, ORD, LON, SYD, IAD, HKG or any name of letters, digits, _ and -')
    .addHelpText('after', '\nExamples:\n  lbmeter clusters put 1 --name ord-a --data-center ORD')
    .action((id: number, opts: { name: string; dataCenter: string }) => withStore(async (store) => {
      if (!DATA_CENTER.test(opts.dataCenter)) throw new UsageError(`--data-center: expected letters, digits, _ or - (at most 32), got ${JSON.stringify(opts.dataCenter.slice(0, 40))}`);
      checkName(opts.name);
      await putCluster(store.db, { id, name: opts.name, dataCenter: opts.dataCenter });
      console.log(`cluster ${id} ${opts.name} (${opts.dataCenter})`);
    }));
  clusters.command('remove')
    .description('Remove a cluster no host in service and no load balancer is in')
    .argument('<id>', 'cluster id', positiveInt)
    .addHelpText('after', '\nExamples:\n  lbmeter clusters remove 4')
    .action((id: number) => withStore(async (store) => {
      const r = await removeCluster(store.db, id);
      if (r.hosts || r.loadBalancers) throw new UsageError(`cluster ${id} has ${r.hosts} hosts in service and ${r.loadBalancers} load balancers: retire the hosts (lbmeter hosts remove) first; a cluster with load balancers stays`);
      if (!r.removed) throw new NotFound(`no cluster ${id}`);
      console.log(`cluster ${id} removed`);
    }));

  const hosts = program.command('hosts').description('Hosts: the HAProxy machines the poller reads (or whose agents push)');
  hosts.command('list')
    .description('List hosts in service (stats page passwords are never shown)')
    .option('--all', 'also retired hosts')
    .option('--json', 'one JSON array instead of lines')
    .addHelpText('after', '\nExamples:\n  lbmeter hosts list\n  lbmeter hosts list --all --json')
    .action((opts: { all?: boolean; json?: boolean }) => withStore(async (store) => {
      const all = await listHosts(store.db, { includeRetired: !!opts.all });
      printRows(all, opts.json, (h) => [h.id, `cluster=${h.clusterId}`, h.name, sourceOf(h), h.retiredMs !== undefined ? `retired ${new Date(h.retiredMs).toISOString()}` : 'in service'], hostView);
    }));
  hosts.command('put')
    .description('Create or replace a host: its cluster and its stats source (none: its agent pushes samples)')
    .argument('<id>', 'host id', positiveInt)
    .requiredOption('--cluster <id>', 'its cluster (lbmeter clusters put first)', positiveInt)
    .requiredOption('--name <name>', 'its name')
    .addOption(new Option('--socket <path>', "HAProxy's stats socket (level user is enough)").conflicts('url'))
    .option('--url <url>', 'the stats page (user:password@ for a page behind stats auth)')
    .addHelpText('after', '\nExamples:\n  lbmeter hosts put 3 --cluster 1 --name lb-3 --socket /run/haproxy/stats.sock\n  lbmeter hosts put 4 --cluster 1 --name lb-4 --url "http://lbmeter:secret@10.0.0.4:8404/stats;csv"\n  lbmeter hosts put 5 --cluster 1 --name agent-5   # its agent pushes samples')
    .action((id: number, opts: { cluster: number; name: string; socket?: string; url?: string }) => withStore(async (store) => {
      if (!(await getCluster(store.db, opts.cluster))) throw new UsageError(`--cluster: cluster ${opts.cluster} is not known; lbmeter clusters put ${opts.cluster} first`);
      checkName(opts.name);
      let stats: Host['stats'];
      try {
        stats = opts.socket !== undefined || opts.url !== undefined ? statsSourceOf({ socket: opts.socket, url: opts.url }) : undefined;
      } catch (err) {
        if (err instanceof StatsSourceRefused) throw new UsageError(err.message.replace(/^stats\.?(url)?:/, (_m, f) => (f ? '--url:' : 'stats:')));
        throw err;
      }
      const host: Host = { id, clusterId: opts.cluster, name: opts.name, ...(stats ? { stats } : {}) };
      await putHost(store.db, host);
      console.log(`host ${id} ${opts.name} in cluster ${opts.cluster}: ${sourceOf(host)}`);
    }));
  hosts.command('remove')
    .description('Retire a host: it is no longer polled; its history stays')
    .argument('<id>', 'host id', positiveInt)
    .addHelpText('after', '\nExamples:\n  lbmeter hosts remove 3')
    .action((id: number) => withStore(async (store) => {
      if (!(await retireHost(store.db, id))) throw new NotFound(`no host ${id} in service`);
      console.log(`host ${id} retired: no longer polled, its history kept`);
    }));
}

/** Where a host's readings come from, as shown (a stats page without its credentials). */
function sourceOf(host: Host): string {
  const stats = hostView(host).stats as { socket?: string; url?: string; username?: string } | undefined;
  if (!stats) return 'push (its agent sends samples)';
  return stats.socket !== undefined ? `socket ${stats.socket}` : `stats page ${stats.url}${stats.username ? ` (user ${stats.username})` : ''}`;
}
