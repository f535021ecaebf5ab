// The byte writer the pages and reports are written with (src/api/format/byteText.ts): its bytes
// are exactly the UTF-8 of the text given, numbers in every form the drivers hand over, across
// the moments it makes room.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteText, bytesOf } from '../../src/api/format/byteText.ts';

test('integers are written as their decimal digits, numbers and bigints, beyond 2^53 and below zero', () => {
  const values: (number | bigint)[] = [0, 7, 9, 10, 99, 100, 1_000_000, 4_294_967_296, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -1, -250, 0n, 2n ** 63n - 1n, -(2n ** 63n)];
  for (const v of values) {
    const out = new ByteText(4);
    out.integer(v);
    assert.equal(out.take().toString(), String(v), String(v));
  }
});

test('text is its UTF-8, ASCII or not, wherever the first other character falls, with room made as it grows', () => {
  const pieces = ['plain', '', 'é at the start', 'ends in ü', '😀 \ud800 lone', '<x>&"\'', 'tab\there\u0000', 'x'.repeat(5000)];
  for (const size of [1, 3, 64, 65536]) {
    const out = new ByteText(size);
    let expected = '';
    for (let round = 0; round < 3; round++) {
      for (const p of pieces) {
        out.text(p);
        out.bytes(bytesOf('|'));
        out.integer(round * 1_000_003);
        expected += `${p}|${round * 1_000_003}`;
      }
    }
    assert.equal(out.length, Buffer.byteLength(expected), `size ${size}`);
    assert.deepEqual(out.take(), Buffer.from(expected), `size ${size}`);
  }
});

test('take hands over what was written and starts again empty: a chunk taken is not written over', () => {
  const out = new ByteText(8);
  out.text('first chunk');
  const first = out.take();
  out.text('second');
  assert.equal(out.length, 6);
  assert.equal(first.toString(), 'first chunk');
  assert.equal(out.take().toString(), 'second');
  assert.equal(out.take().length, 0);
});
