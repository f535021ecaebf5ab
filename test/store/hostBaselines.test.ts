// A host's baselines held packed (store/hostBaselines.ts): the stored bytes are the format
// stores already hold (56 bytes a link, little-endian), exact to 2^64 - 1 and 2^53 - 1, kept
// across growth, and a host's restarts do not pile up process keys.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostBaselines } from '../../src/store/hostBaselines.ts';
import type { ChainLink } from '../../src/domain/delta.ts';

const U64_MAX = 2n ** 64n - 1n;
const link = (processKey: string, timeMs: number, n: bigint): ChainLink => ({ processKey, timeMs, bytesIn: n, bytesOut: n + 1n, bytesInSsl: U64_MAX - n, bytesOutSsl: 2n * n });

test('links written at the stored offsets by hand read back exactly, from any byte offset', () => {
  // The layout a store written by an earlier version holds: id, time, key index, four counters.
  const bytes = Buffer.alloc(3 + 2 * 56);
  const at = (i: number) => 3 + 56 * i;
  for (const [i, [id, time, key, counters]] of ([[2 ** 53 - 1, 1_700_000_000_123, 1, [U64_MAX, 0n, 1n, 2n ** 63n]], [7, 5, 0, [1n, 2n, 3n, 4n]]] as const).entries()) {
    bytes.writeDoubleLE(id, at(i));
    bytes.writeDoubleLE(time, at(i) + 8);
    bytes.writeUInt32LE(key, at(i) + 16);
    counters.forEach((c, k) => bytes.writeBigUInt64LE(c, at(i) + 24 + 8 * k));
  }
  // Unaligned on purpose: a driver's buffer may start anywhere.
  const baselines = HostBaselines.unpack(['p@1', 'q@2'], bytes.subarray(3));
  assert.deepEqual([...baselines], [
    [2 ** 53 - 1, { processKey: 'q@2', timeMs: 1_700_000_000_123, bytesIn: U64_MAX, bytesOut: 0n, bytesInSsl: 1n, bytesOutSsl: 2n ** 63n }],
    [7, { processKey: 'p@1', timeMs: 5, bytesIn: 1n, bytesOut: 2n, bytesInSsl: 3n, bytesOutSsl: 4n }],
  ]);
  // And packing writes those same bytes back.
  const packed = baselines.pack();
  assert.deepEqual(packed.processKeys, ['p@1', 'q@2']);
  assert.ok(packed.links.equals(bytes.subarray(3)));
  assert.equal(packed.newestMs, 1_700_000_000_123);
});

test('ten thousand load balancers grow the buffer and survive a pack and unpack; updates stay in place', () => {
  const baselines = new HostBaselines();
  for (let lb = 1; lb <= 10_000; lb++) baselines.set(lb * 3, link('1@1', lb, BigInt(lb)));
  for (let lb = 1; lb <= 10_000; lb += 2) baselines.set(lb * 3, link('1@1', 20_000 + lb, BigInt(lb) * 1000n));
  assert.equal(baselines.size, 10_000);
  const { processKeys, links, newestMs } = baselines.pack();
  assert.equal(links.length, 10_000 * 56);
  assert.equal(newestMs, 20_000 + 9_999);
  const back = HostBaselines.unpack(processKeys, links);
  assert.deepEqual(back.get(3), link('1@1', 20_001, 1000n));
  assert.deepEqual(back.get(6), link('1@1', 2, 2n));
  assert.deepEqual(back.get(30_000), link('1@1', 10_000, 10_000n));
  assert.equal(back.get(1), undefined);
  assert.deepEqual([...back.keys()].slice(0, 3), [3, 6, 9]);
});

test('process keys no link uses any more are dropped when packed, the others renumbered', () => {
  const baselines = new HostBaselines([[1, link('old@1', 1, 1n)], [2, link('old@1', 1, 2n)], [3, link('other@5', 1, 3n)]]);
  // The host restarted: every link of the old process moves to the new one.
  baselines.set(1, link('new@9', 2, 10n)).set(2, link('new@9', 2, 20n));
  const { processKeys, links } = baselines.pack();
  assert.deepEqual(processKeys, ['other@5', 'new@9']);
  const back = HostBaselines.unpack(processKeys, links);
  assert.deepEqual([back.get(1)?.processKey, back.get(2)?.processKey, back.get(3)?.processKey], ['new@9', 'new@9', 'other@5']);
  // Still usable after the renumbering.
  back.set(4, link('other@5', 3, 4n));
  const again = back.pack();
  assert.deepEqual(HostBaselines.unpack(again.processKeys, again.links).get(4), link('other@5', 3, 4n));
});

test('a link read soon after a clear keeps how soon, in the bytes an earlier version left unused; their links read none', () => {
  const baselines = new HostBaselines([[1, link('p@1', 10_000, 5n)]]);
  assert.equal(baselines.clearAgeMs(1), undefined, 'an earlier version wrote zeros there: no clear known');
  baselines.set(2, link('p@1', 20_000, 6n), 0).set(3, link('p@1', 30_000, 7n), 15_000);
  const { processKeys, links } = baselines.pack();
  assert.equal(links.readUInt32LE(56 + 20), 1, 'milliseconds + 1, after the process key index');
  const back = HostBaselines.unpack(processKeys, links);
  assert.deepEqual([1, 2, 3, 4].map((id) => back.clearAgeMs(id)), [undefined, 0, 15_000, undefined]);
  back.set(2, link('p@1', 21_000, 8n));
  assert.equal(back.clearAgeMs(2), undefined, 'set without an age: none');
  assert.deepEqual(back.get(3), link('p@1', 30_000, 7n), 'the link itself is as it was');
});
