// HAProxy's stats CSV read as it arrives: exact 64-bit counters, frontends paired into one
// reading a load balancer, the same readings however the bytes are split into chunks, and
// input that is not HAProxy's refused with a clear error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatCsv } from '../../src/ingest/sources/haproxyCsv.ts';
import { readingsFromStatCsv, statCsvReader } from '../../src/ingest/frontendReadings.ts';

test('frontends to readings, exact 64-bit counters, other rows ignored', () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq',
    '406271_33,FRONTEND,,,3,9,100,50,18446744073709551615,12345678901234567890,0',
    '406271_33_S,FRONTEND,,,1,2,100,5,10,20,0',
    '406271_33,BACKEND,,,0,0,0,0,999,999,0',
    'stats,FRONTEND,,,0,0,0,0,5,5,0',
    'abc_33,FRONTEND,,,0,0,0,0,5,5,0',
    '',
  ].join('\n');
  assert.equal(parseStatCsv(csv).length, 4);
  const readings = readingsFromStatCsv(csv);
  assert.equal(readings.length, 1);
  assert.deepEqual(readings.slice(0, 10), [{
    accountId: 406271, loadBalancerId: 33, bytesIn: 18446744073709551615n, bytesOut: 12345678901234567890n,
    bytesInSsl: 10n, bytesOutSsl: 20n, connections: 3, connectionsSsl: 1,
  }]);
  assert.throws(() => parseStatCsv('no header'), /header/);
  assert.throws(() => parseStatCsv('# pxname,svname,scur,bin\n'), /bout column/);
  // A header after other lines, a last line without newline, a short line, an empty line.
  assert.deepEqual(parseStatCsv('junk\n# pxname,svname,scur,bin,bout\n\n1_2,FRONTEND,4,5,6\n1_3,FRONTEND\n1_4,FRONTEND,0,7,8'), [
    { name: '1_2', bytesIn: 5n, bytesOut: 6n, sessions: 4 },
    { name: '1_3', bytesIn: 0n, bytesOut: 0n, sessions: 0 },
    { name: '1_4', bytesIn: 7n, bytesOut: 8n, sessions: 0 },
  ]);
  assert.throws(() => parseStatCsv('# pxname,svname,scur,bin,bout\nx,FRONTEND,0,1.5e3,0'), /whole number/);
});

const HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,';

test('the same readings however the CSV is split into chunks', () => {
  const csv = [HEADER, '7_70,FRONTEND,,,2,0,0,0,123456789012345678,9,0,', '7_70_S,FRONTEND,,,1,0,0,0,5,6,0,', '7_71,FRONTEND,,,0,0,0,0,1,2,0,'].join('\n') + '\n';
  const whole = readingsFromStatCsv(csv).slice(0, 10);
  assert.equal(whole.length, 2);
  const bytes = Buffer.from(csv);
  for (let cut = 1; cut < bytes.length; cut++) {
    const reader = statCsvReader();
    reader.push(bytes.subarray(0, cut));
    reader.push(bytes.subarray(cut));
    assert.deepEqual(reader.end().slice(0, 10), whole, `cut at byte ${cut}`);
  }
  const reader = statCsvReader();
  for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1));
  assert.deepEqual(reader.end().slice(0, 10), whole);
});

test('a big host: SSL frontends listed apart from their plain ones, read back in slices', () => {
  const n = 3000;
  const lines = [HEADER];
  for (let lb = 1; lb <= n; lb++) lines.push(`${500 + (lb % 7)}_${lb},FRONTEND,,,${lb % 5},0,0,0,${lb * 1000},${lb * 3000},0,`);
  for (let lb = n - 1; lb >= 1; lb -= 2) lines.push(`${500 + (lb % 7)}_${lb}_S,FRONTEND,,,1,0,0,0,${lb},${2n ** 53n + BigInt(lb)},0,`);
  const readings = readingsFromStatCsv(lines.join('\n'));
  assert.equal(readings.length, n);
  const all = [...readings.slice(0, 1000), ...readings.slice(1000, 2500), ...readings.slice(2500, 9999)];
  assert.equal(all.length, n);
  all.forEach((r, i) => {
    const lb = i + 1;
    const ssl = lb % 2 === 1;
    assert.deepEqual(r, {
      accountId: 500 + (lb % 7), loadBalancerId: lb, bytesIn: BigInt(lb * 1000), bytesOut: BigInt(lb * 3000),
      bytesInSsl: ssl ? BigInt(lb) : 0n, bytesOutSsl: ssl ? 2n ** 53n + BigInt(lb) : 0n, connections: lb % 5, connectionsSsl: ssl ? 1 : 0,
    });
  });
});

test('input that is not HAProxy stats is refused with a clear error', () => {
  const row = (bin: string, bout = '0', scur = '0') => `${HEADER}\n1_2,FRONTEND,,,${scur},0,0,0,${bin},${bout},0,\n`;
  assert.throws(() => parseStatCsv(row('18446744073709551616')), /above 2\^64 - 1/);
  assert.equal(parseStatCsv(row('18446744073709551615'))[0]!.bytesIn, 2n ** 64n - 1n);
  assert.throws(() => parseStatCsv(row('-5')), /not a whole number: "-5"/);
  assert.throws(() => parseStatCsv(row('0x10')), /not a whole number/);
  assert.throws(() => parseStatCsv(row('1', ' 2')), /not a whole number/);
  assert.throws(() => parseStatCsv(row('1', '99999999999999999999x')), /not a whole number/);
  assert.throws(() => parseStatCsv(row('1', '2', 'many')), /not a whole number: "many"/);
  // An error page or a closed socket instead of stats.
  assert.throws(() => parseStatCsv('Unknown command. Please enter one of the following commands only :\n'), /without a "# pxname,\.\.\." header/);
  assert.throws(() => parseStatCsv(''), /header/);
  // A line without end is refused, not buffered without limit.
  const reader = statCsvReader();
  reader.push(Buffer.from(`${HEADER}\n`));
  assert.throws(() => {
    for (let i = 0; i < 40; i++) reader.push(Buffer.alloc(64 * 1024, 0x41));
  }, /line longer than 1048576 bytes/);
  // Frontends whose names are not a load balancer's, however hostile, are skipped.
  const hostile = [HEADER, '"1_2",FRONTEND,,,0,0,0,0,5,5,0,', '1_2;drop table,FRONTEND,,,0,0,0,0,5,5,0,', 'é_1,FRONTEND,,,0,0,0,0,5,5,0,', '1_2_X,FRONTEND,,,0,0,0,0,5,5,0,', '1234567890123456_2,FRONTEND,,,0,0,0,0,5,5,0,'].join('\n');
  assert.equal(parseStatCsv(hostile).length, 5);
  assert.equal(readingsFromStatCsv(hostile).length, 0);
});

test('a load balancer is its two frontends wherever they come in the CSV; only exact names count', () => {
  const row = (name: string, sessions: number, bin: number, bout: number) => `${name},FRONTEND,,,${sessions},0,0,0,${bin},${bout},0,`;
  const csv = [HEADER,
    row('7_100_S', 1, 10, 20), row('7_101', 2, 30, 40), row('7_100', 3, 50, 60), row('7_101_S', 4, 70, 80),
    row('123456789012345_999999999999999', 5, 90, 100), row('123456789012345_999999999999999_S', 6, 110, 120),
    row('1_', 0, 1, 1), row('_2', 0, 1, 1), row('1__S', 0, 1, 1), row('1_2_S_', 0, 1, 1), row('1_2_s', 0, 1, 1), row('1_2S', 0, 1, 1),
    row('1_1234567890123456', 0, 1, 1), row('stats', 0, 1, 1),
  ].join('\n');
  const readings = readingsFromStatCsv(csv);
  assert.deepEqual(readings.slice(0, readings.length), [
    { accountId: 7, loadBalancerId: 100, bytesIn: 50n, bytesOut: 60n, bytesInSsl: 10n, bytesOutSsl: 20n, connections: 3, connectionsSsl: 1 },
    { accountId: 7, loadBalancerId: 101, bytesIn: 30n, bytesOut: 40n, bytesInSsl: 70n, bytesOutSsl: 80n, connections: 2, connectionsSsl: 4 },
    { accountId: 123456789012345, loadBalancerId: 999999999999999, bytesIn: 90n, bytesOut: 100n, bytesInSsl: 110n, bytesOutSsl: 120n, connections: 5, connectionsSsl: 6 },
  ]);
});
