// The billing reports written as they are read (SPEC 3.4, 3.7): JSON and XML bytes in chunks of
// some 64 KB (byteText.ts), element by element from the same shapes as every other response
// (the JSON through serializers compiled from the shapes' schemas, the XML through the
// shape-driven writer, the records by recordRows.ts's compiled writers). A
// failure of the store mid-way ends the response without its closing bytes: the client sees a
// broken transfer, never a document that parses as complete.

import fastJson from 'fast-json-stringify';
import { accountBillings, accountBilling, accountUsage, loadBalancerUsage, loadBalancerUsageRecord } from './shape.ts';
import { shapeSchema } from './jsonSchema.ts';
import { ATOM_XMLNS, XML_DECLARATION, elementXml, openingTag } from './xml.ts';
import { accountUsageView } from '../views.ts';
import { RecordWriter, recordForms, type RecordForms } from './recordRows.ts';
import { ByteText } from './byteText.ts';
import type { Format } from '../negotiate.ts';
import type { TimePrinter } from '../../domain/time.ts';
import type { BillingItem, LoadBalancerItem } from '../../query/billing.ts';

const accountUsageJson = fastJson(shapeSchema(accountUsage) as any);
const records = new RecordWriter(loadBalancerUsageRecord, 'loadBalancerUsageRecord', loadBalancerUsage.ns);

const CHUNK = 64 * 1024;

/** Bytes gathered into chunks worth a write. */
class Chunks extends ByteText {
  constructor() {
    super(CHUNK + 16 * 1024);
  }
  /** The chunk when it is full enough to send. */
  full(): Buffer | undefined {
    return this.length >= CHUNK ? this.take() : undefined;
  }
}

/**
 * One load balancer's records, written from the store's rows (format/recordRows.ts); in JSON its
 * fields in the order the schema's serializer writes them (required ones first).
 */
function writeLoadBalancerUsage(out: ByteText, item: LoadBalancerItem, format: Format, forms: RecordForms): void {
  const { loadBalancerId, loadBalancerName } = item;
  if (format === 'xml') {
    out.text(`${openingTag('loadBalancerUsage', loadBalancerUsage, { loadBalancerId, loadBalancerName }, 'public')}>`);
    records.xml(item.records, out, forms);
    out.text('</loadBalancerUsage>');
    return;
  }
  out.text('{"loadBalancerUsageRecords":');
  records.json(item.records, out, forms);
  out.text(`,"links":[],"loadBalancerId":${loadBalancerId},"loadBalancerName":${JSON.stringify(loadBalancerName)}}`);
}

/** `accountBillings` of SPEC 3.4: every account of the day. */
export async function* accountBillingsText(items: AsyncIterable<BillingItem>, format: Format, printer: TimePrinter): AsyncGenerator<Buffer> {
  const out = new Chunks();
  const forms = recordForms(format, printer);
  const xml = format === 'xml';
  out.text(xml ? `${XML_DECLARATION}${openingTag('accountBillings', accountBillings, {}, undefined, ATOM_XMLNS)}>` : '{"accountBillings":[');
  let accounts = 0;
  let lbsOfAccount = 0;
  for await (const item of items) {
    if (item.kind === 'account') {
      const usage = { accountUsageRecords: item.snapshots.map((s) => accountUsageView(s, printer, false)), links: [] };
      const close = accounts === 0 ? '' : xml ? '</accountBilling>' : ']},';
      out.text(xml
        ? `${close}${openingTag('accountBilling', accountBilling, { accountId: item.accountId }, 'mgmt')}>${elementXml('accountUsage', accountUsage, usage, 'public')}`
        : `${close}{"accountId":${item.accountId},"accountUsage":${accountUsageJson(usage)},"loadBalancerUsages":[`);
      accounts++;
      lbsOfAccount = 0;
    } else {
      if (!xml && lbsOfAccount > 0) out.text(',');
      writeLoadBalancerUsage(out, item, format, forms);
      lbsOfAccount++;
    }
    const chunk = out.full();
    if (chunk) yield chunk;
  }
  out.text((accounts === 0 ? '' : xml ? '</accountBilling>' : ']}') + (xml ? '</accountBillings>' : ']}'));
  yield out.take();
}

/** `accountBilling` of SPEC 3.7: one account, its snapshots (a page, with links), its load balancers. */
export async function* accountBillingText(accountId: number, usage: { accountUsageRecords: unknown[]; links: unknown[] }, items: AsyncIterable<LoadBalancerItem>, format: Format, printer: TimePrinter): AsyncGenerator<Buffer> {
  const out = new Chunks();
  const forms = recordForms(format, printer);
  const xml = format === 'xml';
  out.text(xml
    ? `${XML_DECLARATION}${openingTag('accountBilling', accountBilling, { accountId }, undefined, ATOM_XMLNS)}>${elementXml('accountUsage', accountUsage, usage, 'public')}`
    : `{"accountId":${accountId},"accountUsage":${accountUsageJson(usage)},"loadBalancerUsages":[`);
  const head = out.full();
  if (head) yield head;
  let first = true;
  for await (const item of items) {
    if (!xml && !first) out.text(',');
    writeLoadBalancerUsage(out, item, format, forms);
    first = false;
    const chunk = out.full();
    if (chunk) yield chunk;
  }
  out.text(xml ? '</accountBilling>' : ']}');
  yield out.take();
}
