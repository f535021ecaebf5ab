// Usage records written straight from the store's rows (store/usageRecords.ts RECORD_ROW) into
// the bytes sent (byteText.ts), in JSON and in XML, with no record object, view object, serializer
// or string between the driver and the socket: a page of 1000 records costs its query, this
// writing and its HTTP (bench group `pages`).
// What is written (fields, their order, their form in each format) is read off the records'
// shapes as every other response's is, and test/api/recordRows.test.ts holds the text to the
// shape-driven writers' (xml.ts, the JSON schema's serializer) for the same records.

import { escapeXml, linkXml, openingTag, ATOM_XMLNS, XML_DECLARATION } from './xml.ts';
import { NS, type FieldKind, type Link, type Namespace, type ResponseType, type Shape } from './shape.ts';
import { AT, type RecordColumn, type RecordRow } from '../../store/usageRecords.ts';
import type { TimePrinter } from '../../domain/time.ts';
import type { Format } from '../negotiate.ts';
import { ByteText, bytesOf, isDigitsOnly, MAX_DIGITS, writeDigits } from './byteText.ts';
import { remembering } from '../../domain/remembering.ts';

/** The column each field of a usage record is written from; times are printed from epoch ms. */
const SOURCES: Record<string, { column: RecordColumn; time?: true }> = {
  id: { column: 'id' }, accountId: { column: 'account_id' }, loadBalancerId: { column: 'load_balancer_id' },
  averageNumConnections: { column: 'avg_connections' }, incomingTransfer: { column: 'bytes_in' }, outgoingTransfer: { column: 'bytes_out' },
  averageNumConnectionsSsl: { column: 'avg_connections_ssl' }, incomingTransferSsl: { column: 'bytes_in_ssl' }, outgoingTransferSsl: { column: 'bytes_out_ssl' },
  numVips: { column: 'num_vips' }, numPolls: { column: 'num_polls' },
  startTime: { column: 'start_ms', time: true }, endTime: { column: 'end_ms', time: true },
  vipType: { column: 'vip_type' }, sslMode: { column: 'ssl_mode' }, eventType: { column: 'event_type' },
};

interface Field {
  name: string;
  at: number;
  kind: FieldKind;
  time: boolean;
  optional: boolean;
}

/** A row's record written out; `time` and `text` give an instant's and a string's bytes in the format (RecordForms). */
type WriteRow = (row: RecordRow, out: ByteText, time: (ms: unknown) => Uint8Array, text: (s: unknown) => Uint8Array) => void;

/**
 * One record's bytes as straight-line code made from its fields (as fast-json-stringify compiles
 * a schema): a loop over sixteen field descriptors a record took 1.7 ms a page of 1000, this 1.3
 * (measured on the bench's rows, as strings). Field names and brackets are stored byte by byte
 * into the buffer, with room made once for everything but strings and fractions (a call a field
 * was a fifth of a page's writing). Only the shapes' own field names, checked here, and column
 * indexes go into the code; values only ever reach it as the function's arguments.
 */
function compileRow(fields: Field[], format: Format, open: string): WriteRow {
  if (format === 'json' && fields[0]?.optional !== false) throw new Error('a JSON record is written from a required field on: the commas between fields assume it');
  const json = format === 'json';
  const constant = (text: string) => {
    if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`not printable ASCII: ${text}`);
    return [...text].map((c, i) => `b[p${i ? ` + ${i}` : ''}] = ${c.charCodeAt(0)};`).join(' ') + ` p += ${text.length};`;
  };
  // Room for the record's names, brackets and integers; made again after each value of its own length.
  const fixed = fields.reduce((n, f) => n + f.name.length + 6 + (!f.time && (f.kind === 'int' || f.kind === 'bigint') ? MAX_DIGITS : 0), open.length + 4);
  const reroom = `out.room(${fixed}); b = out.buffer; p = out.at;`;
  const lines: string[] = [`out.room(${fixed}); let b = out.buffer, p = out.at, v;`, constant(json ? '{' : open)];
  fields.forEach((f, i) => {
    if (!/^[A-Za-z]+$/.test(f.name)) throw new Error(`not a field name: ${f.name}`);
    if (f.kind === 'boolean') throw new Error(`a usage record has no true-or-false field: ${f.name}`);
    const key = constant(json ? `${i === 0 ? '' : ','}"${f.name}":` : ` ${f.name}="`);
    // A value not of its column's type (a corrupt row) stops the page: written as it is, it would
    // be a byte count that is not a number, or a document that does not parse.
    const name = JSON.stringify(f.name);
    const ofItsOwnLength = (write: string) => `out.at = p; ${write} ${reroom}`;
    const value = f.time ? ofItsOwnLength('out.bytes(time(v));')
      : f.kind === 'string' ? `if (typeof v !== 'string') notOfItsType(${name}, v); ${ofItsOwnLength('out.bytes(text(v));')}`
      : f.kind === 'decimal' ? `if (typeof v !== 'bigint' && !Number.isFinite(v)) notOfItsType(${name}, v); ${ofItsOwnLength(`out.text(${json ? `'' + Number(v)` : 'decimalXml(Number(v))'});`)}`
      : `if (isDigitsOnly(v)) p = writeDigits(b, p, v); else if (typeof v === 'bigint' || Number.isInteger(v)) { ${ofItsOwnLength('out.integer(v);')} } else notOfItsType(${name}, v);`;
    const close = json ? '' : ` ${constant('"')}`;
    lines.push(`v = row[${f.at}];`);
    lines.push(f.optional
      ? `if (v !== null && v !== undefined) { ${key} ${value}${close} }`
      : `if (v === null || v === undefined) throw missing(${name}); ${key} ${value}${close}`);
  });
  lines.push(constant(json ? '}' : '/>'), 'out.at = p;');
  // eslint-disable-next-line no-new-func
  return new Function('isDigitsOnly', 'writeDigits', 'decimalXml', 'missing', 'notOfItsType', `return function writeRow(row, out, time, text) {\n${lines.join('\n')}\n};`)(isDigitsOnly, writeDigits, decimalXml, missing, notOfItsType) as WriteRow;
}

/** An average in XML: always with a decimal point, as the seeds write it ("0.0"). */
function decimalXml(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : '' + n;
}

const missing = (name: string) => new Error(`a usage record's ${name} is null in the store`);
function notOfItsType(name: string, v: unknown): never {
  throw new Error(`a usage record's ${name} in the store is not of its type: ${String(v).slice(0, 40)}`);
}

/** The records of one shape (public or management), as JSON items or XML elements. */
export class RecordWriter {
  private readonly jsonRow: WriteRow;
  private readonly xmlRow: WriteRow;

  constructor(shape: Shape, element: string, parentNs: Namespace) {
    if (shape.children.length) throw new Error('a usage record is written as one element without children');
    const fields = shape.attrs.map((field): Field => {
      const source = SOURCES[field.name];
      if (!source) throw new Error(`a usage record's ${field.name} has no column to be written from`);
      return { name: field.name, at: AT[source.column], kind: field.kind, time: !!source.time, optional: !!field.optional };
    });
    // JSON names required fields first, then optional ones, as the schema's serializer does: the
    // same bytes as the value-and-serializer path wrote.
    this.jsonRow = compileRow([...fields.filter((f) => !f.optional), ...fields.filter((f) => f.optional)], 'json', '');
    this.xmlRow = compileRow(fields, 'xml', `<${element}${shape.ns === parentNs ? '' : ` xmlns="${NS[shape.ns]}"`}`);
  }

  /** A JSON array of the rows' records. */
  json(rows: readonly RecordRow[], out: ByteText, forms: RecordForms): void {
    out.bytes(OPEN_ARRAY);
    for (let r = 0; r < rows.length; r++) {
      if (r > 0) out.bytes(COMMA);
      this.jsonRow(rows[r]!, out, forms.time, forms.text);
    }
    out.bytes(CLOSE_ARRAY);
  }

  /** The rows' records as XML elements, one after another. */
  xml(rows: readonly RecordRow[], out: ByteText, forms: RecordForms): void {
    for (let r = 0; r < rows.length; r++) this.xmlRow(rows[r]!, out, forms.time, forms.text);
  }
}

const [OPEN_ARRAY, COMMA, CLOSE_ARRAY] = ['[', ',', ']'].map(bytesOf) as [Buffer, Buffer, Buffer];

/**
 * Instants and names in a format's bytes, remembered for one response: its records start and end
 * on few instants and carry few distinct names (quoting or escaping each again was a tenth of a
 * page's writing). One set for a whole report, not one a load balancer: a billing day made them
 * anew for each of 100k load balancers and took 8.5 s where the text it replaced took 7.4.
 */
export interface RecordForms {
  time: (ms: unknown) => Uint8Array;
  text: (s: unknown) => Uint8Array;
}

export function recordForms(format: Format, printer: TimePrinter): RecordForms {
  return format === 'json'
    ? { time: remembered((ms) => `"${printer.print(Number(ms))}"`), text: remembered(JSON.stringify) }
    : { time: remembered((ms) => printer.print(Number(ms))), text: remembered((s) => escapeXml(s as string)) };
}

/** A value's bytes in a format, remembered for the response (domain/remembering.ts). */
const remembered = (form: (v: unknown) => string) => remembering((v: unknown): Uint8Array => bytesOf(form(v)));

/**
 * The writer of whole pages of a response type holding usage records (one repeated child) and
 * paging links: the bytes of the text toXml and the JSON schema's serializer would write from the
 * same records.
 */
export function recordPageWriter(type: ResponseType) {
  const child = type.shape.children[0]!;
  if (type.shape.children.length !== 1 || !child.many || !type.shape.links) throw new Error(`${type.root} is not a page of records`);
  const records = new RecordWriter(child.shape, child.xml, type.shape.ns);
  const open = XML_DECLARATION + openingTag(type.root, type.shape, {}, undefined, ATOM_XMLNS);
  return (format: Format, rows: readonly RecordRow[], printer: TimePrinter, links: { link: Link }[]): Buffer => {
    const out = new ByteText(rows.length * BYTES_A_RECORD + 1024);
    if (format === 'json') {
      out.text(`{"${child.json}":`);
      records.json(rows, out, recordForms(format, printer));
      out.text(`,"links":${JSON.stringify(links)}}`);
    } else if (rows.length === 0 && links.length === 0) {
      out.text(open + '/>');
    } else {
      out.text(open + '>');
      records.xml(rows, out, recordForms(format, printer));
      out.text(`${links.map(({ link }) => linkXml(link)).join('')}</${type.root}>`);
    }
    return out.take();
  };
}

/** Room made at once for a record: a management record takes some 340 bytes in JSON, 400 in XML. */
const BYTES_A_RECORD = 400;
