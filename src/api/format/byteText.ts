// Text written straight into the bytes that are sent. A page of 1000 records built as a string
// took its pieces as a chain V8 joins on first read (the join was most of the writing: 1.8 ms a
// page in a profile of the server), then encoded the 338 KB string again to send it; written
// here, the same page costs about a third of that (bench/.scratch on a 2-core machine) and leaves
// one buffer outside the JavaScript heap instead of thousands of strings inside it.

const EMPTY = Buffer.alloc(0);

export class ByteText {
  /**
   * Where the bytes go, and how many are written. Writers compiled for a record's shape
   * (recordRows.ts) store into them directly after making room, and set `at` when done.
   */
  buffer = EMPTY;
  at = 0;

  /** `size`: the bytes expected, allocated at the first write (more are made room for as they come). */
  constructor(private readonly size = 64 * 1024) {}

  /** Bytes written so far. */
  get length(): number {
    return this.at;
  }

  /** Text in UTF-8 (what the responses are sent as): ASCII copied a character a byte, the rest encoded. */
  text(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buffer;
    let p = this.at;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        this.at = p;
        this.utf8(s.slice(i));
        return;
      }
      b[p++] = c;
    }
    this.at = p;
  }

  bytes(bytes: Uint8Array): void {
    const n = bytes.length;
    this.room(n);
    const b = this.buffer;
    let p = this.at;
    for (let i = 0; i < n; i++) b[p++] = bytes[i]!;
    this.at = p;
  }

  /** An integer in decimal (a number or a bigint, as the drivers give them). */
  integer(v: number | bigint): void {
    if (!isDigitsOnly(v)) return this.text(String(v));
    this.room(MAX_DIGITS);
    this.at = writeDigits(this.buffer, this.at, v);
  }

  /** What has been written, as one buffer; the writer starts again empty. */
  take(): Buffer {
    const written = this.buffer.subarray(0, this.at);
    this.buffer = EMPTY;
    this.at = 0;
    return written;
  }

  /** At least n bytes free after `at`. */
  room(n: number): void {
    if (this.at + n <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.size, this.buffer.length * 2, this.at + n));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  private utf8(s: string): void {
    this.room(Buffer.byteLength(s));
    this.at += this.buffer.write(s, this.at, 'utf8');
  }
}

/** The digits of a safe integer: no more than 16. */
export const MAX_DIGITS = 16;

/** Whether writeDigits takes it: a number, whole, not negative, exact. */
export const isDigitsOnly = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v);

/** A whole number's decimal digits at `at` (room made for MAX_DIGITS); where the next byte goes. */
export function writeDigits(b: Buffer, at: number, v: number): number {
  let digits = 1;
  for (let m = v; m >= 10; m = Math.floor(m / 10)) digits++;
  let p = at + digits;
  let n = v;
  do {
    b[--p] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return at + digits;
}

/** A string's UTF-8 bytes, to be written many times (a field's name, an instant printed once a page). */
export const bytesOf = (s: string): Buffer => Buffer.from(s, 'utf8');
