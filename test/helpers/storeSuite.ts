// Store-level suites: one describe per engine on a fresh store holding cluster 1 and host 1, and
// the facts most of them start from (a load balancer's CREATE, one host's readings of it).

import { describe, before, after } from 'node:test';
import { engines } from './engines.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { ingestEvents } from '../../src/ingest/events.ts';
import { ingestSample } from '../../src/ingest/samples.ts';
import { putCluster, putHost } from '../../src/store/inventory.ts';

const available = await engines();

export function forEachStore(title: string, body: (store: () => Store) => void): void {
  for (const { fixture, skip } of available) {
    describe(`${title} [${fixture.name}]`, { skip }, () => {
      let store: Store;
      before(async () => {
        store = await openStore(await fixture.create());
        await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
        await putHost(store.db, { id: 1, clusterId: 1, name: 'lb-1' });
      });
      after(async () => {
        await store?.close();
        await fixture.cleanup();
      });
      body(() => store);
    });
  }
}

export function createLoadBalancer(store: Store, o: { accountId: number; id: number; timeMs: number }) {
  return ingestEvents(store, [{
    id: `create-${o.id}`, type: 'CREATE_LOADBALANCER', timeMs: o.timeMs, accountId: o.accountId, loadBalancerId: o.id,
    loadBalancer: { name: `lb${o.id}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', sslMode: 'OFF', virtualIps: [{ id: o.id, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
  }], o.timeMs);
}

/** Host 1's reading of one load balancer's plain frontend (a process started at `processStartMs`). */
export function readOne(store: Store, o: { accountId: number; id: number; timeMs: number; bytesIn: bigint; processStartMs: number; pid?: number; ceiling?: bigint }) {
  return ingestSample(store, {
    hostId: 1, timeMs: o.timeMs, process: { pid: o.pid ?? 9, startMs: o.processStartMs },
    loadBalancers: [{ accountId: o.accountId, loadBalancerId: o.id, bytesIn: o.bytesIn, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, connections: 0, connectionsSsl: 0 }],
  }, { deltaCeiling: o.ceiling ?? 2n ** 40n, nowMs: o.timeMs });
}

/**
 * Load balancer 30 (account 3) created at `hourMs`, read 10 minutes in (400 bytes) and 20 minutes
 * in (5000 more: above a ceiling of 1000, held as DELTA_ABOVE_CEILING).
 */
export async function heldAboveCeiling(store: Store, hourMs: number): Promise<void> {
  await createLoadBalancer(store, { accountId: 3, id: 30, timeMs: hourMs });
  for (const [minute, bytesIn] of [[10, 400n], [20, 5400n]] as const) {
    await readOne(store, { accountId: 3, id: 30, timeMs: hourMs + minute * 60_000, bytesIn, processStartMs: hourMs + 60_000, ceiling: 1000n });
  }
}
