// The poller reads its hosts at once and stores their readings one at a time (poller.ts
// oneAtATime): a process's memory follows its largest host, not how many hosts it reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneAtATime } from '../../src/ingest/poller.ts';

test('stored one at a time, in the order read: the next starts only once the one before has settled, failed or not', async () => {
  const turn = oneAtATime();
  const log: string[] = [];
  const gates = [gate(), gate()];
  const work = (name: string, until?: Promise<void>, fail = false) => async () => {
    log.push(`${name} starts`);
    await until;
    log.push(`${name} ends`);
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const first = turn(work('host 1', gates[0]!.promise));
  const second = turn(work('host 2', gates[1]!.promise, true));
  const third = turn(work('host 3'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(log, ['host 1 starts'], 'the second waits while the first is storing');
  gates[0]!.resolve();
  assert.equal(await first, 'host 1');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(log, ['host 1 starts', 'host 1 ends', 'host 2 starts']);
  gates[1]!.resolve();
  await assert.rejects(second, /host 2 failed/, 'its own failure is its caller\'s');
  assert.equal(await third, 'host 3', 'a failure before it does not stop the next');
  assert.deepEqual(log, ['host 1 starts', 'host 1 ends', 'host 2 starts', 'host 2 ends', 'host 3 starts', 'host 3 ends']);
});

/** A promise and its resolve (Promise.withResolvers is not in Node 20). */
function gate(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
