import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainDelta, exceedsCeiling, type ChainLink } from '../../src/domain/delta.ts';
import { decideReading, type StoredReading } from '../../src/domain/reading.ts';
import type { Transfers } from '../../src/domain/types.ts';

const counters = (i: bigint, o: bigint, si = 0n, so = 0n): Transfers => ({ bytesIn: i, bytesOut: o, bytesInSsl: si, bytesOutSsl: so });
const link = (processKey: string, i: bigint, o: bigint, si = 0n, so = 0n): ChainLink => ({ processKey, timeMs: 0, ...counters(i, o, si, so) });
const bytes = (d: Transfers) => [d.bytesIn, d.bytesOut, d.bytesInSsl, d.bytesOutSsl];

test('a delta is current minus previous for the same process', () => {
  const d = chainDelta(link('1@0', 100n, 1000n, 5n, 50n), counters(150n, 1600n, 7n, 80n), '1@0');
  assert.deepEqual(bytes(d), [50n, 600n, 2n, 30n]);
  assert.equal(d.kind, 'NORMAL');
});

test('a new process identity is a reset: the delta is the value since the restart', () => {
  const d = chainDelta(link('1@0', 100n, 1000n, 5n, 50n), counters(30n, 40n, 1n, 2n), '2@99');
  assert.deepEqual(bytes(d), [30n, 40n, 1n, 2n]);
  assert.equal(d.kind, 'RESET');
});

test('a falling counter is a reset of its own group only (plain and SSL are separate frontends)', () => {
  const d = chainDelta(link('1@0', 100n, 1000n, 5n, 50n), counters(20n, 1100n, 9n, 60n), '1@0');
  assert.deepEqual(bytes(d), [20n, 1100n, 4n, 10n]);
  const ssl = chainDelta(link('1@0', 100n, 1000n, 5n, 50n), counters(110n, 1100n, 1n, 60n), '1@0');
  assert.deepEqual(bytes(ssl), [10n, 100n, 1n, 60n]);
});

test('never negative, never zero after a reset with traffic', () => {
  assert.deepEqual(bytes(chainDelta(link('1@0', 10n ** 15n, 10n ** 15n), counters(1n, 0n), '1@0')), [1n, 0n, 0n, 0n]);
});

test('the first reading on a host keeps its counters as its delta; the rollup decides what it bills', () => {
  const first = chainDelta(undefined, counters(500n, 900n, 3n, 4n), '7@1');
  assert.deepEqual([first.kind, ...bytes(first)], ['FIRST', 500n, 900n, 3n, 4n]);
  const stored = (kind: StoredReading['kind'], timeMs: number): StoredReading => ({
    hostId: 1, timeMs, kind, hold: 'NONE', operator: 'NONE', connections: 0, connectionsSsl: 0, ...counters(500n, 900n),
  });
  // SPEC 5: in full when a CREATE is known at or before the reading, whatever the process's age.
  assert.equal(decideReading(stored('FIRST', 20), { createdMs: 10, deletedMs: undefined }).decision, 'FIRST_IN_FULL');
  assert.equal(decideReading(stored('FIRST', 10), { createdMs: 10, deletedMs: undefined }).decision, 'FIRST_IN_FULL');
  assert.deepEqual(bytes(decideReading(stored('FIRST', 5), { createdMs: 10, deletedMs: undefined }).billed), [0n, 0n, 0n, 0n], 'before the CREATE: only a baseline');
  assert.equal(decideReading(stored('FIRST', 5), { createdMs: undefined, deletedMs: undefined }).decision, 'NO_LOADBALANCER');
  // A later reading of a process already read before the CREATE counts from that reading.
  assert.equal(decideReading(stored('NORMAL', 20), { createdMs: 10, deletedMs: undefined }).decision, 'NORMAL');
  assert.equal(decideReading(stored('NORMAL', 40), { createdMs: 10, deletedMs: 30 }).decision, 'AFTER_DELETE');
  assert.equal(decideReading({ ...stored('NORMAL', 40), operator: 'RELEASED' }, { createdMs: 10, deletedMs: 30 }).decision, 'RELEASED_AFTER_DELETE');
  assert.equal(decideReading({ ...stored('NORMAL', 20), hold: 'LATE' }, { createdMs: 10, deletedMs: undefined }).poll, false, 'a late reading waits outside the record');
  assert.equal(decideReading({ ...stored('NORMAL', 20), hold: 'CEILING' }, { createdMs: 10, deletedMs: undefined }).poll, true, 'a held delta keeps its poll');
});

test('64-bit counters stay exact', () => {
  const max = 2n ** 64n - 1n;
  assert.deepEqual(bytes(chainDelta(link('1@0', max - 10n, 2n ** 63n), counters(max, 2n ** 63n + 12345678901234567n), '1@0')), [10n, 12345678901234567n, 0n, 0n]);
});

test('the ceiling flags any counter above it', () => {
  assert.equal(exceedsCeiling(counters(11n, 0n), 10n), true);
  assert.equal(exceedsCeiling(counters(10n, 10n, 10n, 10n), 10n), false);
  assert.equal(exceedsCeiling(counters(0n, 0n, 0n, 11n), 10n), true);
});

/** Deltas of one host's readings in time order; the first counts in full (its CREATE came before). */
function hostDeltas(readings: { process: string; value: bigint }[]): bigint[] {
  let previous: ChainLink | undefined;
  return readings.map(({ process, value }) => {
    const d = chainDelta(previous, counters(value, 0n), process);
    previous = link(process, value, 0n);
    return d.bytesIn;
  });
}

test('a reset on one host of two: each host counts its own bytes, the sum is what both counted', () => {
  // Host A: steady. Host B: 300 bytes, restarts, then 40 and 60 more since the restart.
  const a = hostDeltas([{ process: 'a1', value: 100n }, { process: 'a1', value: 250n }, { process: 'a1', value: 400n }]);
  const b = hostDeltas([{ process: 'b1', value: 300n }, { process: 'b2', value: 40n }, { process: 'b2', value: 100n }]);
  assert.deepEqual(a, [100n, 150n, 150n]);
  assert.deepEqual(b, [300n, 40n, 60n]);
  const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);
  assert.equal(sum([...a, ...b]), 400n + 300n + 100n);
  assert.equal(sum([...b, ...a].reverse()), sum([...a, ...b]), 'independent of order');
});

test('a host that disappears and returns: everything it counted meanwhile, or since its restart', () => {
  // Polls 2 and 3 missed: the same process returns with all it counted in between.
  assert.deepEqual(hostDeltas([{ process: 'p', value: 10n }, { process: 'p', value: 510n }]), [10n, 500n]);
  // It came back as a new process: what it counted since that restart, never a negative delta.
  assert.deepEqual(hostDeltas([{ process: 'p', value: 10n }, { process: 'q', value: 3n }]), [10n, 3n]);
  // A new process that counted more than the old one had: still the new value, not the difference.
  assert.deepEqual(hostDeltas([{ process: 'p', value: 10n }, { process: 'q', value: 25n }]), [10n, 25n]);
});
