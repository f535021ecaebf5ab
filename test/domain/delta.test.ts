import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDelta, exceedsCeiling, ZERO_BASELINE, type CounterBaseline } from '../../src/domain/delta.ts';
import type { CounterReading } from '../../src/domain/types.ts';

const reading = (i: bigint, o: bigint, si = 0n, so = 0n): CounterReading => ({ bytesIn: i, bytesOut: o, bytesInSsl: si, bytesOutSsl: so, connections: 0, connectionsSsl: 0 });
const base = (processKey: string, i: bigint, o: bigint, si = 0n, so = 0n): CounterBaseline => ({ processKey, timeMs: 0, bytesIn: i, bytesOut: o, bytesInSsl: si, bytesOutSsl: so });
const bytes = (d: ReturnType<typeof computeDelta>) => [d.bytesIn, d.bytesOut, d.bytesInSsl, d.bytesOutSsl];

test('a delta is current minus previous for the same process', () => {
  const d = computeDelta({ previous: base('1@0', 100n, 1000n, 5n, 50n), current: reading(150n, 1600n, 7n, 80n), processKey: '1@0', processStartMs: 0, createdMs: 0 });
  assert.deepEqual(bytes(d), [50n, 600n, 2n, 30n]);
  assert.equal(d.reset, false);
});

test('a new process identity is a reset: the delta is the value since the restart', () => {
  const d = computeDelta({ previous: base('1@0', 100n, 1000n, 5n, 50n), current: reading(30n, 40n, 1n, 2n), processKey: '2@99', processStartMs: 99, createdMs: 0 });
  assert.deepEqual(bytes(d), [30n, 40n, 1n, 2n]);
  assert.equal(d.reset, true);
});

test('a falling counter is a reset of its own group only (plain and SSL are separate frontends)', () => {
  const d = computeDelta({ previous: base('1@0', 100n, 1000n, 5n, 50n), current: reading(20n, 1100n, 9n, 60n), processKey: '1@0', processStartMs: 0, createdMs: 0 });
  assert.deepEqual(bytes(d), [20n, 1100n, 4n, 10n]);
  const ssl = computeDelta({ previous: base('1@0', 100n, 1000n, 5n, 50n), current: reading(110n, 1100n, 1n, 60n), processKey: '1@0', processStartMs: 0, createdMs: 0 });
  assert.deepEqual(bytes(ssl), [10n, 100n, 1n, 60n]);
});

test('never negative, never zero after a reset with traffic', () => {
  const d = computeDelta({ previous: base('1@0', 10n ** 15n, 10n ** 15n), current: reading(1n, 0n), processKey: '1@0', processStartMs: 0, createdMs: 0 });
  assert.deepEqual(bytes(d), [1n, 0n, 0n, 0n]);
});

test('a zero baseline (CREATE, UNSUSPEND) counts the first reading in full, whatever the process', () => {
  const d = computeDelta({ previous: base(ZERO_BASELINE, 0n, 0n), current: reading(500n, 900n, 3n, 4n), processKey: '7@1', processStartMs: 1, createdMs: 10 });
  assert.deepEqual(bytes(d), [500n, 900n, 3n, 4n]);
});

test('first reading: counts in full when the process started after the load balancer was created', () => {
  const after = computeDelta({ previous: undefined, current: reading(500n, 900n), processKey: '7@20', processStartMs: 20, createdMs: 10 });
  assert.deepEqual(bytes(after), [500n, 900n, 0n, 0n]);
  const before = computeDelta({ previous: undefined, current: reading(500n, 900n), processKey: '7@5', processStartMs: 5, createdMs: 10 });
  assert.deepEqual(bytes(before), [0n, 0n, 0n, 0n], 'an older process only sets a baseline');
  const unknown = computeDelta({ previous: undefined, current: reading(500n, 900n), processKey: '7@5', processStartMs: 5, createdMs: undefined });
  assert.deepEqual(bytes(unknown), [0n, 0n, 0n, 0n]);
});

test('64-bit counters stay exact', () => {
  const max = 2n ** 64n - 1n;
  const d = computeDelta({ previous: base('1@0', max - 10n, 2n ** 63n), current: reading(max, 2n ** 63n + 12345678901234567n), processKey: '1@0', processStartMs: 0, createdMs: 0 });
  assert.deepEqual(bytes(d), [10n, 12345678901234567n, 0n, 0n]);
});

test('the ceiling flags any counter above it', () => {
  assert.equal(exceedsCeiling({ bytesIn: 11n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 0n, reset: false }, 10n), true);
  assert.equal(exceedsCeiling({ bytesIn: 10n, bytesOut: 10n, bytesInSsl: 10n, bytesOutSsl: 10n, reset: false }, 10n), false);
  assert.equal(exceedsCeiling({ bytesIn: 0n, bytesOut: 0n, bytesInSsl: 0n, bytesOutSsl: 11n, reset: false }, 10n), true);
});

/** Deltas of one host's readings in order, from a zero baseline (the CREATE). */
function hostDeltas(readings: { process: string; value: bigint }[]): bigint[] {
  let previous: CounterBaseline | undefined = base(ZERO_BASELINE, 0n, 0n);
  return readings.map(({ process, value }) => {
    const d = computeDelta({ previous, current: reading(value, 0n), processKey: process, processStartMs: 1, createdMs: 0 });
    previous = base(process, value, 0n);
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
