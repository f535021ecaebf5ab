// An operator's decision on held data (SPEC 5, Deltas and Late data). Releasing applies the held
// fact as its in-order arrival would have: the reading bills (a late one takes its place in its
// host's chain, and the reading after it counts from it), or the held event joins the history;
// every hour it touches is rolled again, a final one as a correction whose changed records are
// exported again as new revisions. Discarding leaves it out for good. Either way the decision is
// recorded on the anomaly (and on the reading, so a re-roll does not hold it again).

import type { Db, Store } from '../store/store.ts';
import { getAnomaly, resolveAnomaly, type Anomaly } from '../store/anomalies.ts';
import { getEvent, setEventsHeld } from '../store/events.ts';
import { hostBaselines, saveHostBaselines } from '../store/counters.ts';
import { lockHostCounters } from '../store/dialect/index.ts';
import { getReading, hourCompacted, linkOf, moveReading, setReadingDelta, setReadingOperator, type ReadingKey, type ReadingRow } from '../store/readings.ts';
import { placeAmongNeighbours } from '../ingest/counterOrder.ts';
import { loadBalancerBasics } from '../store/loadBalancers.ts';
import { applyHistory } from '../ingest/events.ts';
import { chainDelta, exceedsCeiling, MAX_STORED_BYTES } from '../domain/delta.ts';
import { floorHour, HOUR_MS, hourOfReading } from '../domain/time.ts';
import { lastRecordHour } from '../domain/rollup.ts';
import { advanceRevision } from '../store/revision.ts';
import { hoursRolledFrom, rerollLoadBalancer } from './hourRollup.ts';

/** The decision cannot be made (the API answers 404 or 400, the CLI exits 1). */
export class CorrectionRefused extends Error {
  constructor(message: string, readonly notFound = false) {
    super(message);
  }
}


export interface Decision {
  anomaly: Anomaly;
  /** Final records changed by the decision: exported again as new revisions. */
  revised: number;
}

export async function releaseAnomaly(store: Store, id: number, nowMs = Date.now()): Promise<Decision> {
  return store.transaction(async (trx) => {
    const anomaly = await heldAnomaly(trx, id);
    if (anomaly.kind === 'STALE_SAMPLE') {
      throw new CorrectionRefused(`anomaly ${id} (${anomaly.kind}) holds no bytes to bill: newer readings of the host counted them; discard it to acknowledge it`);
    }
    if (anomaly.kind === 'UNKNOWN_LOAD_BALANCER') {
      throw new CorrectionRefused(`anomaly ${id} (${anomaly.kind}): no load balancer to bill; post its CREATE_LOADBALANCER event and its bytes are billed, or discard it to leave them unbilled`);
    }
    if (anomaly.kind === 'RECORD_OVERFLOW') {
      throw new CorrectionRefused(`anomaly ${id} (${anomaly.kind}): no usage record can carry more than 2^63 - 1 bytes in a counter; discard it once the readings behind it are understood`);
    }
    // Decided before the re-roll below, which replaces the holds still undecided.
    await resolveAnomaly(trx, id, 'RELEASED', nowMs);
    const revised = anomaly.kind === 'LATE_EVENT' ? await releaseEvent(trx, anomaly, nowMs) : await releaseReading(trx, anomaly, nowMs);
    // Closed windows may show it: cached answers about them are outdated.
    await advanceRevision(trx);
    return { anomaly: (await getAnomaly(trx, id))!, revised };
  });
}

export async function discardAnomaly(store: Store, id: number, nowMs = Date.now()): Promise<Decision> {
  return store.transaction(async (trx) => {
    const anomaly = await heldAnomaly(trx, id);
    const key = readingKeyOf(anomaly);
    if (key) await setReadingOperator(trx, key, 'DISCARDED');
    await resolveAnomaly(trx, id, 'DISCARDED', nowMs);
    return { anomaly: (await getAnomaly(trx, id))!, revised: 0 };
  });
}

async function releaseEvent(trx: Db, anomaly: Anomaly, nowMs: number): Promise<number> {
  const event = anomaly.eventId === undefined ? undefined : await getEvent(trx, anomaly.eventId);
  if (!event) throw new CorrectionRefused(`anomaly ${anomaly.id}: its event is no longer stored`);
  // Inside an hour whose readings were compacted, the hour's bytes sit at its last reading: the
  // split the event makes cannot be made, and it would bill them all on one side of it (SPEC 5).
  const hour = floorHour(event.timeMs);
  if (event.timeMs !== hour && await hourCompacted(trx, event.loadBalancerId, hour)) {
    throw new CorrectionRefused(`anomaly ${anomaly.id}: ${event.type} at ${new Date(event.timeMs).toISOString()} falls inside an hour whose readings were compacted into one hourly row, which cannot be split at it; discard it, or raise LBMETER_READINGS_DAYS so late events find their readings`);
  }
  await setEventsHeld(trx, [event.id], false);
  await applyHistory(trx, [event]);
  return (await rerollLoadBalancer(trx, event.loadBalancerId, await hoursRolledFrom(trx, event.timeMs), nowMs)).revised;
}

async function releaseReading(trx: Db, anomaly: Anomaly, nowMs: number): Promise<number> {
  const key = readingKeyOf(anomaly);
  const reading = key && (await getReading(trx, key));
  if (!key || !reading) throw new CorrectionRefused(`anomaly ${anomaly.id}: its reading is no longer stored (purged)`);
  if (anomaly.held && exceedsCeiling(anomaly.held, MAX_STORED_BYTES)) {
    throw new CorrectionRefused(`anomaly ${anomaly.id} holds more than 2^63 - 1 bytes in one counter, which no usage record can carry; discard it`);
  }
  const hours = [hourOfReading(reading.timeMs)];
  // A late reading joins its chain as if it had come in time, a reading like any other: what it
  // bills is decided at rollup as for the others (after a deletion it is held as such).
  if (reading.hold === 'LATE') hours.push(...await joinChain(trx, reading));
  else await setReadingOperator(trx, key, 'RELEASED');
  const basics = (await loadBalancerBasics(trx, [key.loadBalancerId])).get(key.loadBalancerId);
  // The first record takes the readings from before the CREATE (which of them is the baseline):
  // a reading placed before it moves bytes in or out of the creation hour.
  if (basics && Math.min(...hours) < basics.createdMs + HOUR_MS) hours.push(floorHour(basics.createdMs));
  if (anomaly.kind === 'SAMPLE_AFTER_DELETE') {
    // Billed in the load balancer's last record, which ends at its deletion.
    const last = basics && lastRecordHour({ createdMs: basics.createdMs, deletedMs: basics.deletedMs });
    if (last !== undefined) hours.push(last);
  }
  return (await rerollLoadBalancer(trx, key.loadBalancerId, hours, nowMs)).revised;
}

/**
 * A late reading takes its place in its host's chain, as if it had come on time: placed by its
 * counters among readings of its process stamped close to it (ingest/counterOrder.ts), its delta
 * from the reading before it, the next one's delta from it; the newest becomes the baseline.
 * Returns the hours whose bytes it moved (its own, and those of the readings it moved or re-based).
 */
async function joinChain(trx: Db, reading: ReadingRow): Promise<number[]> {
  const link = linkOf(reading);
  if (!link) throw new CorrectionRefused(`the reading at ${reading.timeMs} was stored before raw counters were kept; discard it`);
  const place = await placeAmongNeighbours(trx, reading.hostId, reading.loadBalancerId, link);
  if (!place) throw new CorrectionRefused(`a reading of the same process stamped just before ${reading.timeMs} holds higher counters and is itself held; decide that one first`);
  const { previous, next, same } = place.around;
  // Its bytes are in the delta of the reading after it; next to readings compacted into hourly
  // rows (which keep no counters to take a delta from) they stay billed there.
  if (same || next?.kind === 'HOURLY' || previous?.kind === 'HOURLY') {
    await place.undo();
    throw new CorrectionRefused(same
      ? `another reading of the host has the instant ${link.timeMs}: its counters count this one's bytes; discard it`
      : `the readings around ${reading.timeMs} were compacted into hourly rows, which bill this reading's bytes already; discard it`);
  }
  const at: ReadingKey = { loadBalancerId: reading.loadBalancerId, hostId: reading.hostId, timeMs: link.timeMs };
  if (link.timeMs !== reading.timeMs) await moveReading(trx, reading, link.timeMs);
  await setReadingDelta(trx, at, chainDelta(previous && linkOf(previous), link, link.processKey), 'NONE');
  const nextLink = next && linkOf(next);
  if (nextLink) await setReadingDelta(trx, next!, chainDelta(link, nextLink, nextLink.processKey));
  const { moved } = place;
  if (!next || moved.length > 0) {
    await lockHostCounters(trx, reading.hostId);
    const baselines = await hostBaselines(trx, reading.hostId);
    const newest = baselines.get(reading.loadBalancerId);
    const newestMoved = moved.find((m) => newest?.timeMs === m.from);
    if (newestMoved) await saveHostBaselines(trx, reading.hostId, baselines.set(reading.loadBalancerId, newestMoved.link));
    else if (!next && (!newest || newest.timeMs < link.timeMs)) await saveHostBaselines(trx, reading.hostId, baselines.set(reading.loadBalancerId, link));
  }
  return [hourOfReading(link.timeMs), ...(next ? [hourOfReading(next.timeMs)] : []), ...moved.flatMap((m) => [hourOfReading(m.to.timeMs), hourOfReading(m.from)])];
}

function readingKeyOf(a: Anomaly): ReadingKey | undefined {
  return a.loadBalancerId !== undefined && a.hostId !== undefined ? { loadBalancerId: a.loadBalancerId, hostId: a.hostId, timeMs: a.timeMs } : undefined;
}

async function heldAnomaly(db: Db, id: number): Promise<Anomaly> {
  const anomaly = await getAnomaly(db, id);
  if (!anomaly) throw new CorrectionRefused(`no anomaly ${id}`, true);
  if (anomaly.status !== 'HELD') throw new CorrectionRefused(`anomaly ${id} was already ${anomaly.status.toLowerCase()}`);
  return anomaly;
}
