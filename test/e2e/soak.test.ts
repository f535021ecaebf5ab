// The chaos soak (test/soak/soak.ts) for 60 seconds: reloads through the hook, kill -9 and
// SIGSTOP of lbmeter processes, store outages and a slow store link, HAProxy crashes after a
// drained read, late and duplicated events. Every load balancer's records carry exactly its
// clients' bytes. SOAK_SEED repeats a run; `npm run soak` runs it for 5 minutes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { postgresProblem } from '../helpers/engines.ts';
import { runSoak, soakPassed } from '../soak/soak.ts';

const problem = await postgresProblem();
if (problem && process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but ${problem}`);
if (problem) console.log(`# skipping the soak: ${problem}`);

test('a 60-second chaos soak bills every byte once', { skip: problem, timeout: 10 * 60_000 }, async () => {
  const seed = Number(process.env.SOAK_SEED ?? randomInt(2 ** 31));
  console.log(`# soak seed ${seed} (SOAK_SEED=${seed} repeats it)`);
  const r = await runSoak({ seconds: Number(process.env.SOAK_SECONDS ?? 60), seed });
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
  assert.deepEqual(r.surprises, [], `seed ${seed}`);
  for (const lb of r.loadBalancers) assert.deepEqual(lb.billed, lb.truth, `seed ${seed}: load balancer ${lb.id}`);
  assert.deepEqual(r.reconciliation.differences, [], `seed ${seed}: ${show(r.reconciliation.differences)}`);
  assert.equal(r.heldBytes, 0n, `seed ${seed}`);
  assert.ok(r.transfers > 100, `seed ${seed}: ${r.transfers} transfers`);
  assert.ok(Object.keys(r.actions).length >= 3, `seed ${seed}: ${show(r.actions)}`);
  assert.ok(soakPassed(r));
});
