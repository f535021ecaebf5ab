// The poller (SPEC 5, Polling): reads every host in parallel with a timeout and feeds each
// reading to the same ingest as pushed samples. A dead or slow host is reported, never waited on.
// A host is read under its lease, by one process at a time: two overlapping reads could store
// a later counter before an earlier one, and the earlier would then look like a reset.

import type { Store } from '../store/store.ts';
import { listHosts, type Host } from '../store/inventory.ts';
import { ingestSample, meteredOf, type MeteredBytes } from './samples.ts';
import { socketSource } from './sources/haproxySocket.ts';
import { httpSource } from './sources/haproxyHttp.ts';
import type { StatsSource } from './sources/source.ts';
import { holdsLease, releaseLease, takeLease } from '../store/leases.ts';
import { leaseFence, PROCESS_HOLDER, waitForLease } from '../jobs/leases.ts';
import { livePollers, shareOf } from './pollerShare.ts';
import { measureClockSkew, skewRefusal } from './clockSkew.ts';

export interface HostPollReport {
  hostId: number;
  name: string;
  ok: boolean;
  error?: string;
  loadBalancers: number;
  durationMs: number;
  duplicate?: boolean;
  /** Bytes of the deltas the reading took into the chain, each way (SSL included). */
  metered?: MeteredBytes;
  /** Readings that count from zero after a clear of the host's counters (samples.ts SampleIntakeResult). */
  cleared?: number;
  /** Another process was reading the host; it stores that reading. */
  busy?: boolean;
}

export interface PollOptions {
  timeoutMs: number;
  deltaCeiling: bigint;
  /**
   * A fixed instant to stamp every host's reading with (tests and the demo's backfill). Without
   * it each host's reading is stamped when that host answered, never at the cycle's start: a
   * cycle that waits on a slow store would stamp its readings before another reader's.
   */
  nowMs?: number;
  /** Poll only these hosts (the pre-reload hook polls one). */
  hostIds?: number[];
  /**
   * Wait for a host another process is reading instead of leaving it to that process: the
   * pre-reload hook must read the host itself, right before the reload.
   */
  waitForBusyHosts?: boolean;
  /** Poll only this process's share of the hosts among the live pollers (serve's poller). */
  shareWithPollers?: boolean;
  holder?: string;
  /** How long a host's read lease lasts unless renewed (default 5 s). */
  readLeaseMs?: number;
}

/**
 * A host's read lease is short and renewed while its reader reads and stores, so a reader that
 * dies mid-read (killed, its machine gone) frees the host soon: serve's poller takes it for as
 * long as its membership lasts (both lapse within one interval), a one-off poll for 5 s. The
 * reading is stored only if the lease is still the one taken for it (a fencing token, checked
 * in the storing transaction), so no host is ever counted by two processes (issue 13).
 */
const READ_LEASE_MS = 5_000;

export function sourceFor(host: Host): StatsSource | undefined {
  if (!host.stats) return undefined;
  return 'socket' in host.stats ? socketSource(host.stats.socket) : httpSource(host.stats.url);
}

export async function pollHosts(store: Store, options: PollOptions): Promise<HostPollReport[]> {
  // Stamped by this machine's clock: only while it agrees with the store's (a fixed stamp is a test's or the demo's).
  const refusal = options.nowMs === undefined ? skewRefusal(await measureClockSkew(store.db)) : undefined;
  let hosts = (await listHosts(store.db)).filter((h) => h.stats);
  if (options.hostIds) hosts = hosts.filter((h) => options.hostIds!.includes(h.id));
  if (options.shareWithPollers) {
    const mine = new Set(shareOf(hosts.map((h) => h.id), await livePollers(store.db), options.holder ?? PROCESS_HOLDER));
    hosts = hosts.filter((h) => mine.has(h.id));
  }
  if (refusal) return hosts.map((h) => ({ hostId: h.id, name: h.name, ok: false, error: refusal, loadBalancers: 0, durationMs: 0 }));
  const storing = oneAtATime();
  return Promise.all(hosts.map((host) => pollOne(store, host, options, storing)));
}

/**
 * Runs the work given to it one after another, in the order it came, whether each succeeds or
 * fails. Hosts are read all at once but stored one at a time: storing a host's reading holds its
 * baselines, its slices and their COPY text (about 80 MB for 100k load balancers), so a
 * process's memory follows its largest host, not the number of hosts it reads. More hosts than
 * one process stores in an interval are shared among more pollers (pollerShare.ts).
 */
export function oneAtATime(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const turn = tail.then(work, work);
    tail = turn.catch(() => {});
    return turn;
  };
}

async function pollOne(store: Store, host: Host, options: PollOptions, storing: ReturnType<typeof oneAtATime>): Promise<HostPollReport> {
  const started = performance.now();
  const report: HostPollReport = { hostId: host.id, name: host.name, ok: false, loadBalancers: 0, durationMs: 0 };
  const lease = `poll-host:${host.id}`;
  const holder = options.holder ?? PROCESS_HOLDER;
  const leaseMs = options.readLeaseMs ?? READ_LEASE_MS;
  // A fixed stamp moves past the time spent waiting for another reader (read after it, so stamped after it).
  let fixedMs = options.nowMs;
  let token: number | undefined;
  try {
    token = await takeLease(store.db, lease, holder, leaseMs);
    if (token === undefined) {
      // The pre-reload hook waits for the host's reader, at most as long as a read may take.
      if (options.waitForBusyHosts) token = await waitForLease(store.db, lease, holder, leaseMs, options.timeoutMs);
      if (token === undefined) {
        report.busy = true;
        // A named host (the pre-reload hook) must be read by this call: a reload after a read
        // that did not happen here could lose what was counted since the other reader's read.
        if (options.waitForBusyHosts) report.error = `not read: another process was still reading it after ${options.timeoutMs} ms`;
        else report.ok = true;
        return report;
      }
      if (fixedMs !== undefined) fixedMs += Math.round(performance.now() - started);
    }
  } catch (err) {
    report.error = (err as Error).message;
    return report;
  }
  const fence = leaseFence(lease, holder, token, leaseMs);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  const renewal = setInterval(() => void holdsLease(store.db, lease, holder, token, leaseMs).catch(() => {}), leaseMs / 3);
  try {
    const { process, loadBalancers } = await sourceFor(host)!.read(controller.signal);
    clearTimeout(timer); // the timeout is the read's: waiting for its turn to be stored is not the host's slowness
    // Stamped when read, before it waits its turn to be stored.
    const nowMs = fixedMs ?? Date.now();
    const result = await storing(() => ingestSample(store, { hostId: host.id, timeMs: nowMs, process, loadBalancers }, { deltaCeiling: options.deltaCeiling, nowMs, fence }));
    report.ok = true;
    report.loadBalancers = loadBalancers.length;
    if (result.duplicate) report.duplicate = true;
    report.metered = meteredOf(result);
    if (result.cleared > 0) report.cleared = result.cleared;
  } catch (err) {
    report.error = controller.signal.aborted ? `no answer within ${options.timeoutMs} ms` : (err as Error).message;
  } finally {
    clearTimeout(timer);
    clearInterval(renewal);
    await releaseLease(store.db, lease, holder).catch(() => {}); // it expires anyway
    report.durationMs = Math.round(performance.now() - started);
  }
  return report;
}
