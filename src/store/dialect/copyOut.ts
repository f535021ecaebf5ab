// A select's rows read through `COPY (select) TO STDOUT` and split here, for reports of a whole
// day and pages of records. The driver's row protocol makes a string of every field before
// parsing it (a billing day of 2.4M records: 41M strings, the biggest part of its time; a page of
// 1000 records: 3.4 ms of 4.5, both profiled); COPY hands over the rows as text lines, whose
// integers are read here straight from the bytes. Each row comes out
// as the driver would have made it: the same keys, the same values for every column type.

import pg from 'pg';
import copyStreams from 'pg-copy-streams';

const NEWLINE = 10;
const TAB = 9;
const BACKSLASH = 92;
const MINUS = 45;

/** COPY's escapes in text (PostgreSQL's CopyAttributeOutText writes no others). */
const UNESCAPED: Record<number, string> = { 98: '\b', 102: '\f', 110: '\n', 114: '\r', 116: '\t', 118: '\v' };

const INTEGER_TYPES = new Set([20, 21, 23]); // int8, int2, int4
const FLOAT8 = 701;
const TEXT_TYPES = new Set([25, 1043, 1042, 19]); // text, varchar, char, name

type Decode = (bytes: Buffer, from: number, to: number) => unknown;

/**
 * The select with its parameters written in (COPY takes none): numbers and bigints as they are,
 * in parentheses (so `x-$1` cannot become a comment), text as literals, null as NULL.
 */
export function withParametersInlined(sql: string, parameters: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_match, n: string) => {
    const value = parameters[Number(n) - 1];
    if (value === null) return 'NULL';
    if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') return `(${value})`;
    if (typeof value === 'string') return pg.escapeLiteral(value);
    if (typeof value === 'boolean') return String(value);
    throw new Error(`a ${typeof value} parameter cannot be written into a COPY statement`);
  });
}

/** A select's columns by its text (parameters not written in): the same select has the same columns. */
const columnsBySelect = new Map<string, { names: string[]; types: number[] }>();
/** Selects differ by their parameters' placeholders, not their values: a few dozen shapes a process. */
const MAX_SELECT_SHAPES = 256;

/**
 * The rows of `sql` (its `$n` parameters written in from `parameters`) on `client`, `batchSize`
 * at a time. `typeParser` is the pool's: what the driver would have made of each column's text.
 */
export async function* copyOutRows(client: pg.PoolClient, sql: string, parameters: readonly unknown[], batchSize: number, typeParser: (oid: number) => (text: string) => unknown, arrays = false): AsyncGenerator<(Record<string, unknown> | unknown[])[]> {
  const select = withParametersInlined(sql, parameters);
  const { names, types } = await columnsOf(client, sql, select);
  const decoders = types.map((oid) => decoderOf(oid, typeParser));
  const stream = client.query(copyStreams.to(`copy (${select}) to stdout`));
  let rest: Buffer | undefined;
  let batch: (Record<string, unknown> | unknown[])[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const bytes = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE, start); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      batch.push(arrays ? decodeRowArray(bytes, start, end, decoders) : decodeRow(bytes, start, end, names, decoders));
      start = end + 1;
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    // A copy: a view would keep the whole chunk alive until the next one.
    rest = start < bytes.length ? Buffer.from(bytes.subarray(start)) : undefined;
  }
  if (rest) throw new Error('COPY output ended inside a row');
  if (batch.length > 0) yield batch;
}

/** The columns' names and types (COPY's text says neither), asked of the server once a select. */
async function columnsOf(client: pg.PoolClient, sql: string, select: string): Promise<{ names: string[]; types: number[] }> {
  const known = columnsBySelect.get(sql);
  if (known) return known;
  const { fields } = await client.query(`select * from (${select}) as q limit 0`);
  const columns = { names: fields.map((f) => f.name), types: fields.map((f) => f.dataTypeID) };
  if (columnsBySelect.size >= MAX_SELECT_SHAPES) columnsBySelect.clear();
  columnsBySelect.set(sql, columns);
  return columns;
}

function decodeRow(bytes: Buffer, start: number, end: number, names: string[], decoders: Decode[]): Record<string, unknown> {
  const values = decodeRowArray(bytes, start, end, decoders);
  const row: Record<string, unknown> = {};
  for (let c = 0; c < names.length; c++) row[names[c]!] = values[c];
  return row;
}

/** A row's values in column order (decodeRow names them). */
function decodeRowArray(bytes: Buffer, start: number, end: number, decoders: Decode[]): unknown[] {
  const row: unknown[] = new Array(decoders.length);
  let from = start;
  for (let c = 0; c < decoders.length; c++) {
    let to = from;
    while (to < end && bytes[to] !== TAB) to++;
    row[c] = to - from === 2 && bytes[from] === BACKSLASH && bytes[from + 1] === 78 /* N */ ? null : decoders[c]!(bytes, from, to);
    from = to + 1;
  }
  return row;
}

function decoderOf(oid: number, typeParser: (oid: number) => (text: string) => unknown): Decode {
  const parse = typeParser(oid);
  if (INTEGER_TYPES.has(oid)) {
    // What fits in 15 digits is read from the bytes; longer ones (beyond what a double holds
    // exactly, perhaps) go through the driver's parser like any other text.
    return (bytes, from, to) => (to - from <= 15 ? wholeNumber(bytes, from, to) : parse(bytes.toString('latin1', from, to)));
  }
  if (TEXT_TYPES.has(oid)) return repeatedText();
  if (oid === FLOAT8) return (bytes, from, to) => shortDecimal(bytes, from, to) ?? parse(text(bytes, from, to));
  return (bytes, from, to) => parse(text(bytes, from, to));
}

/**
 * Text that is often the same as the row before's (a load balancer's name on each of its
 * records, its VIP type and SSL mode): the string made for it then, when the bytes are the same.
 */
function repeatedText(): Decode {
  let last = Buffer.alloc(0);
  let lastText = '';
  return (bytes, from, to) => {
    const length = to - from;
    if (length === last.length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = bytes[from + i] === last[i];
      if (same) return lastText;
    }
    lastText = text(bytes, from, to);
    last = Buffer.from(bytes.subarray(from, to));
    return lastText;
  };
}

/** Exact powers of ten: 10^22 is the last a double holds exactly. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * A double written as digits with at most one point and 15 significant digits or fewer, as
 * PostgreSQL writes most averages: mantissa / 10^k, both exact, so the division rounds once,
 * correctly, to what parseFloat gives. Undefined for anything else (exponents, more digits,
 * NaN, Infinity): the driver's parser reads those.
 */
function shortDecimal(bytes: Buffer, from: number, to: number): number | undefined {
  const negative = bytes[from] === MINUS;
  let i = negative ? from + 1 : from;
  if (i === to) return undefined;
  let mantissa = 0;
  let digits = 0;
  let scale = -1;
  for (; i < to; i++) {
    const b = bytes[i]!;
    if (b === 46 /* . */ && scale < 0) scale = 0;
    else if (b >= 48 && b <= 57) {
      mantissa = mantissa * 10 + b - 48;
      if (mantissa > 0 || scale >= 0) digits++;
      if (scale >= 0) scale++;
    } else return undefined;
  }
  if (digits > 15 || scale > 22) return undefined;
  const value = scale > 0 ? mantissa / POWERS_OF_TEN[scale]! : mantissa;
  return negative ? -value : value;
}

function wholeNumber(bytes: Buffer, from: number, to: number): number {
  const negative = bytes[from] === MINUS;
  let n = 0;
  for (let i = negative ? from + 1 : from; i < to; i++) n = n * 10 + bytes[i]! - 48;
  return negative ? -n : n;
}

/** A field's text, its escapes undone. */
function text(bytes: Buffer, from: number, to: number): string {
  let slash = from;
  while (slash < to && bytes[slash] !== BACKSLASH) slash++;
  if (slash === to) return bytes.toString('utf8', from, to);
  let out = '';
  let run = from;
  for (let i = slash; i < to; i++) {
    if (bytes[i] !== BACKSLASH) continue;
    out += bytes.toString('utf8', run, i);
    const next = bytes[i + 1]!;
    out += UNESCAPED[next] ?? String.fromCharCode(next);
    i++;
    run = i + 1;
  }
  return out + bytes.toString('utf8', run, to);
}
