// Clusters and hosts: where load balancers live and which stats sources the poller reads.

import type { Db } from './store.ts';
import { num, optNum } from './rows.ts';

/** A data center code (DFW, ORD, ... or any configured name): the API's schema and the CLI hold names to these. */
export const DATA_CENTER_PATTERN = '^[A-Za-z0-9_-]{1,32}$';
/** The longest cluster or host name. */
export const NAME_MAX_LENGTH = 128;

export interface Cluster {
  id: number;
  name: string;
  dataCenter: string;
}

export interface Host {
  id: number;
  clusterId: number;
  name: string;
  stats?: { socket: string } | { url: string };
  retiredMs?: number;
}

export async function putCluster(db: Db, c: Cluster): Promise<void> {
  await db.insertInto('clusters').values({ id: c.id, name: c.name, data_center: c.dataCenter })
    .onConflict((oc) => oc.column('id').doUpdateSet({ name: c.name, data_center: c.dataCenter }))
    .execute();
}

export async function listClusters(db: Db): Promise<Cluster[]> {
  const rows = await db.selectFrom('clusters').selectAll().orderBy('id').execute();
  return rows.map((r) => ({ id: num(r.id), name: r.name, dataCenter: r.data_center }));
}

export async function getCluster(db: Db, id: number): Promise<Cluster | undefined> {
  const r = await db.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst();
  return r && { id: num(r.id), name: r.name, dataCenter: r.data_center };
}

export async function putHost(db: Db, h: Host): Promise<void> {
  const values = {
    cluster_id: h.clusterId,
    name: h.name,
    stats_socket: h.stats && 'socket' in h.stats ? h.stats.socket : null,
    stats_url: h.stats && 'url' in h.stats ? h.stats.url : null,
    retired_ms: null,
  };
  await db.insertInto('hosts').values({ id: h.id, ...values })
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute();
}

export async function retireHost(db: Db, id: number, nowMs = Date.now()): Promise<boolean> {
  const r = await db.updateTable('hosts').set({ retired_ms: nowMs }).where('id', '=', id).where('retired_ms', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function listHosts(db: Db, options: { includeRetired?: boolean } = {}): Promise<Host[]> {
  let q = db.selectFrom('hosts').selectAll().orderBy('id');
  if (!options.includeRetired) q = q.where('retired_ms', 'is', null);
  return (await q.execute()).map(toHost);
}

export async function getHost(db: Db, id: number): Promise<Host | undefined> {
  const r = await db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toHost(r);
}

export async function hostIdsOfCluster(db: Db, clusterId: number): Promise<number[]> {
  const rows = await db.selectFrom('hosts').select('id').where('cluster_id', '=', clusterId).where('retired_ms', 'is', null).execute();
  return rows.map((r) => num(r.id));
}

function toHost(r: any): Host {
  const h: Host = { id: num(r.id), clusterId: num(r.cluster_id), name: r.name };
  if (r.stats_socket) h.stats = { socket: r.stats_socket };
  else if (r.stats_url) h.stats = { url: r.stats_url };
  const retired = optNum(r.retired_ms);
  if (retired !== undefined) h.retiredMs = retired;
  return h;
}

/**
 * Removes a cluster that nothing names: refused (with what names it) while a host in service or
 * a load balancer is in it, since their history and counts are reported by cluster.
 */
export async function removeCluster(db: Db, id: number): Promise<{ removed: boolean; hosts: number; loadBalancers: number }> {
  const count = async (table: 'hosts' | 'load_balancers') => {
    let q = db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('cluster_id', '=', id);
    if (table === 'hosts') q = q.where('retired_ms', 'is', null);
    return num((await q.executeTakeFirstOrThrow()).n);
  };
  const [hosts, loadBalancers] = [await count('hosts'), await count('load_balancers')];
  if (hosts || loadBalancers) return { removed: false, hosts, loadBalancers };
  const r = await db.deleteFrom('clusters').where('id', '=', id).executeTakeFirst();
  return { removed: Number(r.numDeletedRows) > 0, hosts, loadBalancers };
}
