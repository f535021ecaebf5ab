import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTime, timePrinter, utcPrinter } from '../../src/domain/time.ts';

const ms = (text: string) => {
  const r = parseTime(text);
  assert.ok(r.ok, `${text} should parse: ${!r.ok && r.reason}`);
  return r.ms;
};

test('accepts every input form of SPEC 2.2 and reads no zone as UTC', () => {
  const base = Date.UTC(2014, 3, 8, 15, 0, 0);
  assert.equal(ms('2014-04-08'), Date.UTC(2014, 3, 8));
  assert.equal(ms('2014-04-08T15:00'), base);
  assert.equal(ms('2014-04-08T15:00:00'), base);
  assert.equal(ms('2014-04-08T15:00:00.250'), base + 250);
  assert.equal(ms('2014-04-08T15:00:00Z'), base);
  assert.equal(ms('2014-04-08T10:00:00-05'), base);
  assert.equal(ms('2014-04-08T10:00:00-0500'), base);
  assert.equal(ms('2014-04-08T10:00:00-05:00'), base);
  assert.equal(ms('2014-04-08T20:30:00+05:30'), base);
  assert.equal(ms('2014-04-08 15:00:00'), base);
  assert.equal(ms('2014-04-08T 15:00:00'), base, 'the seeds print "YYYY-MM-DDT HH:mm:ss"');
  assert.equal(ms('2014-04-08T20:30:00 05:30'), base, 'a "+" turned into a space by an unencoded query string');
});

test('rejects impossible dates, times, zones and other shapes with a reason', () => {
  for (const bad of ['2021-02-30', '2021-13-01', '2021-00-10', '2021-04-31', '2021-01-01T24:00', '2021-01-01T10:60', '2021-01-01T10:00:60',
    '2021-01-01T10:00+15:00', '2021-01-01T10:00+05:60', '21-01-01', '2021-1-1', '2021/01/01', 'yesterday', '', '2021-01-01T10', '1969-12-31',
    '2021-01-01T10:00:00ZZ', '2021-01-01T10:00:00.1234567890', '<script>']) {
    const r = parseTime(bad);
    assert.equal(r.ok, false, `${bad} must be rejected`);
    if (!r.ok) assert.ok(r.reason.length > 5);
  }
  const r = parseTime('2021-02-29');
  assert.equal(r.ok, false);
  assert.ok(parseTime('2024-02-29').ok, 'leap day of a leap year');
});

test('prints whole seconds in UTC with Z', () => {
  assert.equal(utcPrinter().print(Date.UTC(2014, 3, 8, 15, 0, 0, 999)), '2014-04-08T15:00:00Z');
});

test('prints a display zone with its numeric offset, DST-correct', () => {
  const chicago = timePrinter('America/Chicago');
  assert.equal(chicago.print(Date.UTC(2011, 8, 1, 19, 21, 16)), '2011-09-01T14:21:16-05:00');
  assert.equal(chicago.print(Date.UTC(2012, 0, 26, 4, 9, 21)), '2012-01-25T22:09:21-06:00');
  // 2026-03-08 08:00Z is 02:00 CST -> 03:00 CDT: one second before and at the switch.
  assert.equal(chicago.print(Date.UTC(2026, 2, 8, 7, 59, 59)), '2026-03-08T01:59:59-06:00');
  assert.equal(chicago.print(Date.UTC(2026, 2, 8, 8, 0, 0)), '2026-03-08T03:00:00-05:00');
  // Lord Howe shifts by 30 minutes at 02:00 local (15:00Z the day before in its summer).
  const lordHowe = timePrinter('Australia/Lord_Howe');
  assert.equal(lordHowe.print(Date.UTC(2026, 3, 4, 14, 59, 59)), '2026-04-05T01:59:59+11:00');
  assert.equal(lordHowe.print(Date.UTC(2026, 3, 4, 15, 0, 0)), '2026-04-05T01:30:00+10:30');
  assert.equal(timePrinter('Asia/Kolkata').print(Date.UTC(2026, 0, 1)), '2026-01-01T05:30:00+05:30');
});
