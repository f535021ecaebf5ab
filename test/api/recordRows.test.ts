// Pages written straight from the store's rows (src/api/format/recordRows.ts) are the very bytes
// of the text the shape-driven writers make from the same records: XML by toXml, JSON by the serializer
// Fastify compiles from the response schema. Random records, both engines' integer forms (number,
// bigint, beyond 2^53), whole and fractional averages, hostile text, provisional records without
// an id, both record forms, both display zones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fastJson from 'fast-json-stringify';
import { recordPageWriter } from '../../src/api/format/recordRows.ts';
import { RESPONSES, type ResponseType } from '../../src/api/format/shape.ts';
import { responseSchema, jsonLinks } from '../../src/api/format/jsonSchema.ts';
import { toXml } from '../../src/api/format/xml.ts';
import { timePrinter, type TimePrinter } from '../../src/domain/time.ts';
import { AT, RECORD_ROW, type RecordRow } from '../../src/store/usageRecords.ts';

const SEED = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);

function random(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const HOSTILE = ['PUBLIC', 'SERVICENET', 'MIXED', 'ON', '<x>&"\'', '\u0000\u0007tab\there', '😀 \ud800 lone', ']]>', '{"a":1}', '\\"', ''];

function randomRow(next: () => number): RecordRow {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
  const integer = () => pick([0, 1, 4_294_967_296, 2 ** 53 - 1, 2n ** 53n + 1n, 2n ** 63n - 1n, BigInt(Math.floor(next() * 1e9)), Math.floor(next() * 1e12)]);
  const start = Date.parse('2026-03-08T06:00:00Z') + Math.floor(next() * 48) * 3_600_000 + pick([0, 1_500, 59_000]);
  const row: RecordRow = new Array(RECORD_ROW.length);
  row[AT.id] = pick([null, 1, 2_147_483_646, 7n]);
  row[AT.account_id] = pick([1, 999_999_999, 5n]);
  row[AT.load_balancer_id] = pick([1, 2_000_000_000, 9n]);
  row[AT.start_ms] = pick([start, BigInt(start)]);
  row[AT.end_ms] = start + 3_600_000;
  for (const c of ['bytes_in', 'bytes_out', 'bytes_in_ssl', 'bytes_out_ssl'] as const) row[AT[c]] = integer();
  row[AT.avg_connections] = pick([0, 2, 0.5, 1 / 3, 1e21, 123456.789]);
  row[AT.avg_connections_ssl] = pick([0, 7, 0.25]);
  row[AT.num_vips] = pick([1, 2n]);
  row[AT.num_polls] = pick([0, 12, 360n]);
  row[AT.vip_type] = pick(HOSTILE);
  row[AT.ssl_mode] = pick(HOSTILE);
  row[AT.event_type] = pick([null, null, 'CREATE_LOADBALANCER', ...HOSTILE]);
  return row;
}

/** The record as a value of its response type, the way any other response is built. */
function value(row: RecordRow, printer: TimePrinter, management: boolean): Record<string, unknown> {
  const at = (c: (typeof RECORD_ROW)[number]) => row[AT[c]];
  const integer = (c: (typeof RECORD_ROW)[number]) => (typeof at(c) === 'bigint' ? at(c) : BigInt(at(c) as number));
  const v: Record<string, unknown> = {
    id: at('id') === null ? undefined : Number(at('id')),
    averageNumConnections: at('avg_connections'), incomingTransfer: integer('bytes_in'), outgoingTransfer: integer('bytes_out'),
    averageNumConnectionsSsl: at('avg_connections_ssl'), incomingTransferSsl: integer('bytes_in_ssl'), outgoingTransferSsl: integer('bytes_out_ssl'),
    numVips: Number(at('num_vips')), numPolls: Number(at('num_polls')),
    startTime: printer.print(Number(at('start_ms'))), endTime: printer.print(Number(at('end_ms'))),
    vipType: at('vip_type'), sslMode: at('ssl_mode'), eventType: at('event_type') ?? undefined,
  };
  if (management) Object.assign(v, { accountId: Number(at('account_id')), loadBalancerId: Number(at('load_balancer_id')) });
  return v;
}

/** Text as the bytes a response sends of it (UTF-8; a lone surrogate becomes U+FFFD), read back. */
const sent = (text: string) => Buffer.from(text).toString();

const PAGES: [string, ResponseType, boolean][] = [
  ['management', RESPONSES.loadBalancerUsageRecords, true],
  ['public', RESPONSES.loadBalancerUsage, false],
];

for (const [form, type, management] of PAGES) {
  test(`a ${form} page written from rows is the text the shape-driven writers make (seed ${SEED})`, () => {
    const next = random(SEED);
    const write = recordPageWriter(type);
    const json = fastJson(responseSchema(type) as any);
    const child = type.shape.children[0]!.json;
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      const printer = timePrinter(zone);
      for (let page = 0; page < 40; page++) {
        const rows = Array.from({ length: Math.floor(next() * 30) }, () => randomRow(next));
        const links = jsonLinks([
          ...(next() < 0.5 ? [{ href: 'https://lb.example/v1.0/1/loadbalancers/usage?startTime=2026-03-08&offset=2&limit=2&x=%3C%26%22', rel: 'next' as const }] : []),
          ...(next() < 0.5 ? [{ href: 'https://lb.example/usage?a=1&b=<2>', rel: 'previous' as const }] : []),
        ]);
        const expected = { [child]: rows.map((r) => value(r, printer, management)), links };
        const context = `seed ${SEED}, zone ${zone}, page ${page}`;
        assert.equal(write('xml', rows, printer, links).toString(), sent(toXml(type, expected)), context);
        assert.equal(write('json', rows, printer, links).toString(), sent(json(expected)), context);
        // The JSON parses, and carries byte counts beyond 2^53 as their exact digits.
        const parsed = JSON.parse(write('json', rows, printer, links).toString());
        assert.equal(parsed[child].length, rows.length, context);
      }
    }
  });
}

test('a record with a required field missing or not of its type in the store is an error, not a record written without it or wrong', () => {
  const row = randomRow(random(1));
  row[AT.bytes_in] = null;
  const write = recordPageWriter(RESPONSES.loadBalancerUsageRecords);
  assert.throws(() => write('json', [row], timePrinter('UTC'), []), /incomingTransfer is null/);
  assert.throws(() => write('xml', [row], timePrinter('UTC'), []), /incomingTransfer is null/);
  for (const [column, value, field] of [['bytes_out', 'corrupt', 'outgoingTransfer'], ['num_polls', 1.5, 'numPolls'], ['avg_connections', 'x', 'averageNumConnections'], ['avg_connections', NaN, 'averageNumConnections'], ['vip_type', 7, 'vipType']] as const) {
    const bad = randomRow(random(2));
    bad[AT[column]] = value;
    for (const format of ['json', 'xml'] as const) {
      assert.throws(() => write(format, [bad], timePrinter('UTC'), []), new RegExp(`${field} in the store is not of its type`), `${column} = ${value} (${format})`);
    }
  }
});
