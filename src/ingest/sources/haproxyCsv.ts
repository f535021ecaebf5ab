// HAProxy's stats CSV (`show stat`, or `;csv` over HTTP): frontend rows to exact counters.
// bin and bout are unsigned 64-bit, so they are read as BigInt, never through a float.
//
// The CSV is parsed as its bytes arrive and never held whole: a real stats line has some 90
// fields and a big host 200k lines (80 MB), of which a poll needs five fields of the frontend
// rows. Only the leading fields of a line are read, in place.

import type { FrontendCounters } from './source.ts';

/**
 * A frontend row: its name is bytes[nameFrom, nameTo) (latin1), read in place by a sink that
 * wants numbers from it (a string a row was a sixth of a big host's parse).
 */
export type FrontendSink = (bytes: Buffer, nameFrom: number, nameTo: number, sessions: number, bytesIn: bigint, bytesOut: bigint) => void;

/** A line longer than this is not HAProxy's: refused instead of buffered without end. */
const MAX_LINE_BYTES = 1 << 20;
const NEWLINE = 10;
const COMMA = 44;
const HASH = 35;
const SPACE = 32;
const FRONTEND = Buffer.from('FRONTEND');
const MAX_COUNTER = 2n ** 64n - 1n;

interface Columns {
  px: number;
  sv: number;
  scur: number;
  bin: number;
  bout: number;
  last: number;
}

export class StatCsvParser {
  private columns?: Columns;
  private rest?: Buffer;
  /** Start and end offset of each field read from the current line. */
  private bounds = new Int32Array(0);

  constructor(private readonly onFrontend: FrontendSink) {}

  push(chunk: Uint8Array): void {
    const bytes = this.rest ? Buffer.concat([this.rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE, start); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      this.line(bytes, start, end);
      start = end + 1;
    }
    if (bytes.length - start > MAX_LINE_BYTES) throw new Error(`stats CSV line longer than ${MAX_LINE_BYTES} bytes`);
    // A copy: a view would keep the whole chunk alive until the next one.
    this.rest = start < bytes.length ? Buffer.from(bytes.subarray(start)) : undefined;
  }

  /** The last line (HAProxy ends it with a newline, a proxy in between may not). */
  end(): void {
    if (this.rest) this.line(this.rest, 0, this.rest.length);
    this.rest = undefined;
    if (!this.columns) throw new Error('stats CSV without a "# pxname,..." header');
  }

  private line(bytes: Buffer, start: number, end: number): void {
    if (end === start) return;
    if (bytes[start] === HASH) {
      if (!this.columns && bytes[start + 1] === SPACE) this.header(bytes.toString('latin1', start + 2, end).split(','));
      return;
    }
    const c = this.columns;
    if (!c) return; // whatever comes before the header
    // The leading fields' bounds, by a loop of our own: a call to indexOf a field cost more
    // than the bytes it skips (the fields a poll reads come first, a few bytes each).
    const bounds = this.bounds;
    let field = 0;
    let from = start;
    for (let i = start; i < end; i++) {
      if (bytes[i] !== COMMA) continue;
      bounds[2 * field] = from;
      bounds[2 * field + 1] = i;
      from = i + 1;
      if (++field > c.last) break;
    }
    for (; field <= c.last; field++) {
      bounds[2 * field] = from;
      bounds[2 * field + 1] = end;
      from = end;
    }
    if (!equals(bytes, bounds[2 * c.sv]!, bounds[2 * c.sv + 1]!, FRONTEND)) return;
    this.onFrontend(
      bytes, bounds[2 * c.px]!, bounds[2 * c.px + 1]!,
      sessions(bytes, bounds[2 * c.scur]!, bounds[2 * c.scur + 1]!),
      counter(bytes, bounds[2 * c.bin]!, bounds[2 * c.bin + 1]!),
      counter(bytes, bounds[2 * c.bout]!, bounds[2 * c.bout + 1]!),
    );
  }

  private header(names: string[]): void {
    const at = (name: string) => {
      const i = names.indexOf(name);
      if (i < 0) throw new Error(`stats CSV without a ${name} column`);
      return i;
    };
    const [px, sv, scur, bin, bout] = [at('pxname'), at('svname'), at('scur'), at('bin'), at('bout')];
    const last = Math.max(px, sv, scur, bin, bout);
    this.columns = { px, sv, scur, bin, bout, last };
    this.bounds = new Int32Array(2 * (last + 1));
  }
}

/** The whole CSV at once: for tests and tools that want every frontend by name. */
export function parseStatCsv(text: string): FrontendCounters[] {
  const out: FrontendCounters[] = [];
  const parser = new StatCsvParser((bytes, from, to, sessions, bytesIn, bytesOut) => out.push({ name: bytes.toString('latin1', from, to), bytesIn, bytesOut, sessions }));
  parser.push(Buffer.from(text));
  parser.end();
  return out;
}

function equals(bytes: Buffer, from: number, to: number, word: Buffer): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (bytes[from + i] !== word[i]) return false;
  return true;
}

/** HAProxy's byte counters are unsigned 64-bit; an empty field is 0 (a counter it does not keep). */
function counter(bytes: Buffer, from: number, to: number): bigint {
  // Up to 15 digits a double is exact, and no string is made for the common case.
  if (to - from <= 15) return BigInt(smallWhole(bytes, from, to));
  const text = bytes.toString('latin1', from, to);
  if (!/^\d+$/.test(text)) throw notWhole(bytes, from, to);
  const value = BigInt(text);
  if (value > MAX_COUNTER) throw new Error(`stats CSV counter above 2^64 - 1: ${text.slice(0, 30)}`);
  return value;
}

function sessions(bytes: Buffer, from: number, to: number): number {
  return to - from <= 15 ? smallWhole(bytes, from, to) : Number(counter(bytes, from, to));
}

/** A field of at most 15 digits, so exact in a double. */
export function smallWhole(bytes: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) throw notWhole(bytes, from, to);
    n = n * 10 + digit;
  }
  return n;
}

function notWhole(bytes: Buffer, from: number, to: number): Error {
  return new Error(`stats CSV counter is not a whole number: ${JSON.stringify(bytes.toString('latin1', from, Math.min(to, from + 30)))}`);
}

/** The `show info` lines as a map. */
export function parseInfo(text: string): Map<string, string> {
  const info = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) info.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return info;
}
