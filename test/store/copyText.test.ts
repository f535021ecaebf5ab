// COPY's text format written byte by byte (store/dialect/copyText.ts): every number exactly as
// its decimal string, bigints beyond 2^53 and negative ones, NULL, and text with what COPY
// treats as special escaped, whatever the chunk boundaries. (The store tests send it to a real
// PostgreSQL; this pins the digits themselves, over many magnitudes.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { copyTextChunks } from '../../src/store/dialect/copyText.ts';
import type { BulkColumn } from '../../src/store/dialect/dialect.ts';

const column = (i: number): BulkColumn<unknown[]> => ({ name: `c${i}`, pgType: 'bigint', value: (row) => row[i] });
const text = (columns: number, rows: unknown[][]) => Buffer.concat([...copyTextChunks(Array.from({ length: columns }, (_, i) => column(i)), rows)]).toString('utf8');

test('numbers and bigints are written as their decimal strings, at every magnitude and edge', () => {
  const edges = [0, 1, 9, 10, 99, 100, 101, 999, 1000, 65535, 99_999_999, 100_000_000, 100_000_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7,
    1_767_226_200_000, 999_999_999_999_999, 10 ** 15, 2 ** 53 - 1, -1, -10, -(2 ** 31), -(2 ** 53 - 1), 1.5, -0.25, 1e21, 2 ** 53, 2 ** 60];
  const bigs = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, -1n, -(2n ** 53n)];
  const values: unknown[] = [...edges, ...bigs];
  assert.equal(text(values.length, [values]), values.map(String).join('\t') + '\n');
  // Every x * 10^k - 1, x * 10^k and + 1: where digit counts and the 10^8 split change.
  const around: number[] = [];
  for (let k = 0; k <= 15; k++) for (const x of [1, 2, 5, 9]) for (const d of [-1, 0, 1]) if (x * 10 ** k + d >= 0) around.push(x * 10 ** k + d);
  assert.equal(text(1, around.map((n) => [n])), around.map((n) => `${n}\n`).join(''));
});

test('random whole numbers up to 2^64 in both types come out exact', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n })), { minLength: 1, maxLength: 20 }), (row) => {
    assert.equal(text(row.length, [row]), row.map(String).join('\t') + '\n');
  }), { seed: 20261129, numRuns: 2000 });
});

test('NULL, text escapes and rows across chunk boundaries', () => {
  const rows = [[null, undefined, 'a\\b\tc\nd\re', 'é ü 中 😀', '']];
  assert.equal(text(5, rows), '\\N\t\\N\ta\\\\b\\tc\\nd\\re\té ü 中 😀\t\n');
  // Rows long enough to cross many 64 KB chunks: every chunk ends on a whole row, nothing lost.
  const long = Array.from({ length: 3000 }, (_, i) => [i, 'x'.repeat(i % 97), 2n ** 63n - BigInt(i)]);
  const chunks = [...copyTextChunks([column(0), column(1), column(2)], long)];
  assert.ok(chunks.length > 1);
  for (const chunk of chunks) assert.equal(chunk[chunk.length - 1], 10);
  assert.equal(Buffer.concat(chunks).toString(), long.map((r) => `${r.join('\t')}\n`).join(''));
  // One value bigger than a chunk.
  const huge = 'y'.repeat(200_000);
  assert.equal(text(2, [[huge, 1]]), `${huge}\t1\n`);
});
