// The benchmarks still run: the bench runner with --quick on tiny data prints a row for every
// target of DESIGN.md. It runs from the sources (`npm run bench` builds dist/ first; a build
// here would swap dist/ under the CLI tests running beside this one). Only that they run is checked here, never their speed (no test depends
// on timing); the measurement is `npm run bench`, reported in docs/performance.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { postgresProblem } from '../helpers/engines.ts';

const problem = await postgresProblem();
if (problem && process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but ${problem}`);
if (problem) console.log(`# skipping the bench smoke run: ${problem}`);

test('bench --quick prints every target with its baseline and ratio', { skip: problem }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick'], { cwd: new URL('../..', import.meta.url).pathname, maxBuffer: 1 << 24 });
  const rows = stdout.split('\n').filter((l) => /^\| (?!target|-)/.test(l));
  for (const target of [/poll cycle: .* \[pg\]/, /rollup of one hour: .* \[pg\]/, /billing day, .* JSON, median of 3 \[pg\]/, /billing day, .* XML, median of 3 \[pg\]/,
    /RSS streaming the billing day/, /billing day growth/, /\/usage\/current on a/, /compaction of a day: .* \[pg\]/, /readings on disk for 1M LBs a day/, /record ids handed out per record, .* \[pg\]/,
    /under load: tenant \/usage, p99/, /under load: tenant \/usage\/current, p99/, /under load: management page, 1000 records, p99/, /under load: poll cycle/, /under load: peak RSS of each process/]) assert.ok(rows.some((r) => target.test(r)), `${target}`);
  for (const engine of ['pg', 'sqlite']) {
    for (const target of [/1000-record page made from the store, p50/, /1000-record page made from the store, p99/, /last page of .* by next/, /JSON 1000-record pages a second/, /XML page, p50/, /RSS serving pages while ingesting/]) {
      assert.ok(rows.some((r) => target.test(r) && r.includes(`[${engine}]`)), `${target} [${engine}]`);
    }
  }
  for (const r of rows) assert.match(r, /\| (pass|short) +\|$/, r);
});
