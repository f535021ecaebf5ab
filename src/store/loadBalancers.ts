// The current state of each load balancer (derived from its events) and its virtual IPs.

import type { Db } from './store.ts';
import { chunks } from './store.ts';
import { idBatches, idIn } from './dialect/index.ts';
import { num, optNum } from './rows.ts';
import { inIdRange, rangesStartingAt, type IdRange } from './idRange.ts';
import { sql } from 'kysely';
import type { LoadBalancerState, VirtualIp, IpVersion, VipType, LbStatus, SslMode } from '../domain/types.ts';
import { sortVips } from '../domain/lifecycle.ts';

export async function saveLoadBalancerStates(db: Db, states: LoadBalancerState[]): Promise<void> {
  for (const part of chunks(states, 200)) {
    for (const s of part) {
      const values = {
        account_id: s.accountId, name: s.name, protocol: s.protocol, cluster_id: s.clusterId, status: s.status,
        ssl_mode: s.sslMode, created_ms: s.createdMs, updated_ms: s.updatedMs, deleted_ms: s.deletedMs ?? null,
      };
      await db.insertInto('load_balancers').values({ id: s.id, ...values })
        .onConflict((oc) => oc.column('id').doUpdateSet(values)).execute();
    }
    const ids = part.map((s) => s.id);
    await db.deleteFrom('virtual_ips').where('load_balancer_id', 'in', ids).execute();
    const vips = part.flatMap((s) => s.virtualIps.map((v) => ({
      load_balancer_id: s.id, id: v.id, address: v.address, ip_version: v.ipVersion, type: v.type,
    })));
    for (const vipPart of chunks(vips)) await db.insertInto('virtual_ips').values(vipPart).execute();
  }
}

export interface LoadBalancerView extends LoadBalancerState {
  clusterName: string;
  region: string;
}

/** Load balancers with cluster names and VIPs, ascending id. */
export async function loadBalancerViews(db: Db, filter: { accountId?: number; ids?: number[] }): Promise<LoadBalancerView[]> {
  let q = db.selectFrom('load_balancers as lb')
    .leftJoin('clusters as c', 'c.id', 'lb.cluster_id')
    .select(['lb.id', 'lb.account_id', 'lb.name', 'lb.protocol', 'lb.cluster_id', 'lb.status', 'lb.ssl_mode',
      'lb.created_ms', 'lb.updated_ms', 'lb.deleted_ms', 'c.name as cluster_name', 'c.data_center'])
    .orderBy('lb.id');
  if (filter.accountId !== undefined) q = q.where('lb.account_id', '=', filter.accountId);
  if (filter.ids) {
    if (filter.ids.length === 0) return [];
    q = q.where('lb.id', 'in', filter.ids);
  }
  const rows = await q.execute();
  const vips = await virtualIpsOf(db, rows.map((r) => num(r.id)));
  return rows.map((r) => {
    const view: LoadBalancerView = {
      id: num(r.id), accountId: num(r.account_id), name: r.name, protocol: r.protocol, clusterId: num(r.cluster_id),
      status: r.status as LbStatus, sslMode: r.ssl_mode as SslMode, virtualIps: vips.get(num(r.id)) ?? [],
      createdMs: num(r.created_ms), updatedMs: num(r.updated_ms),
      clusterName: r.cluster_name ?? '', region: r.data_center ?? '',
    };
    const deleted = optNum(r.deleted_ms);
    if (deleted !== undefined) view.deletedMs = deleted;
    return view;
  });
}

async function virtualIpsOf(db: Db, ids: number[]): Promise<Map<number, VirtualIp[]>> {
  const out = new Map<number, VirtualIp[]>();
  for (const part of chunks(ids)) {
    const rows = await db.selectFrom('virtual_ips').selectAll().where('load_balancer_id', 'in', part).execute();
    for (const r of rows) {
      const lb = num(r.load_balancer_id);
      const list = out.get(lb) ?? [];
      list.push({ id: num(r.id), address: r.address, ipVersion: r.ip_version as IpVersion, type: r.type as VipType });
      out.set(lb, list);
    }
  }
  for (const [k, v] of out) out.set(k, sortVips(v));
  return out;
}

export async function loadBalancerOwner(db: Db, id: number): Promise<{ accountId: number; name: string } | undefined> {
  const r = await db.selectFrom('load_balancers').select(['account_id', 'name']).where('id', '=', id).executeTakeFirst();
  return r && { accountId: num(r.account_id), name: r.name };
}

export async function loadBalancerBasics(db: Db, ids: number[]): Promise<Map<number, { accountId: number; clusterId: number; createdMs: number; deletedMs?: number }>> {
  const out = new Map<number, { accountId: number; clusterId: number; createdMs: number; deletedMs?: number }>();
  for (const part of idBatches(db, [...new Set(ids)])) {
    const rows = await db.selectFrom('load_balancers').select(['id', 'account_id', 'cluster_id', 'created_ms', 'deleted_ms']).where(idIn(db, 'id', part)).execute();
    for (const r of rows) {
      out.set(num(r.id), { accountId: num(r.account_id), clusterId: num(r.cluster_id), createdMs: num(r.created_ms), deletedMs: optNum(r.deleted_ms) });
    }
  }
  return out;
}

/** Per account, its non-deleted load balancers in the cluster, ascending account id (SPEC 3.1). */
export async function customerCount(db: Db, clusterId: number): Promise<{ accountId: number; count: number }[]> {
  const rows = await db.selectFrom('load_balancers')
    .select(['account_id', (eb) => eb.fn.countAll().as('n')])
    .where('cluster_id', '=', clusterId).where('deleted_ms', 'is', null)
    .groupBy('account_id').orderBy('account_id').execute();
  return rows.map((r) => ({ accountId: num(r.account_id), count: num(r.n as number) }));
}

/** Ids of load balancers that existed at some instant of [fromMs, toMs) (and those without end). */
export async function loadBalancerIdsAliveIn(db: Db, fromMs: number, toMs: number, filter: { ids?: number[]; range?: IdRange } = {}): Promise<number[]> {
  const out: number[] = [];
  for (const part of filter.ids ? idBatches(db, filter.ids) : [undefined]) {
    let q = inIdRange(aliveIn(db, fromMs, toMs).select('id').orderBy('id'), 'id', filter.range);
    if (part) q = q.where(idIn(db, 'id', part));
    for (const r of await q.execute()) out.push(num(r.id));
  }
  return out;
}

/**
 * Ranges of ids holding `size` load balancers alive in [fromMs, toMs) each (the last the rest),
 * covering every id (idRange.ts): a fleet's hour rolled a slice at a time. Only every size-th id
 * comes from the store.
 */
export async function rangesOfAliveIn(db: Db, fromMs: number, toMs: number, size: number): Promise<IdRange[]> {
  const numbered = aliveIn(db, fromMs, toMs).select(['id', sql<number>`row_number() over (order by id)`.as('n')]).as('alive');
  const starts = await db.selectFrom(numbered).select('alive.id').where('alive.n', '>', 1).where(sql`(alive.n - 1) % ${size}`, '=', 0).orderBy('alive.id').execute();
  return rangesStartingAt(starts.map((r) => num(r.id)));
}

const aliveIn = (db: Db, fromMs: number, toMs: number) => db.selectFrom('load_balancers')
  .where('created_ms', '<', toMs)
  .where((eb) => eb.or([eb('deleted_ms', 'is', null), eb('deleted_ms', '>=', fromMs)]));

/** Load balancers of an account that existed at any moment of [start, end], paged, ascending id. */
export async function billableLoadBalancerIds(db: Db, accountId: number, startMs: number, endMs: number, offset: number, limit: number): Promise<number[]> {
  const rows = await db.selectFrom('load_balancers').select('id')
    .where('account_id', '=', accountId)
    .where('created_ms', '<=', endMs)
    .where((eb) => eb.or([eb('deleted_ms', 'is', null), eb('deleted_ms', '>=', startMs)]))
    .orderBy('id').offset(offset).limit(limit).execute();
  return rows.map((r) => num(r.id));
}

export async function accountsWithLiveLoadBalancerAt(db: Db, ms: number): Promise<number[]> {
  const rows = await db.selectFrom('load_balancers').select('account_id').distinct()
    .where('created_ms', '<=', ms)
    .where((eb) => eb.or([eb('deleted_ms', 'is', null), eb('deleted_ms', '>', ms)]))
    .orderBy('account_id').execute();
  return rows.map((r) => num(r.account_id));
}
