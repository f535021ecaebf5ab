// The billing reports written as they are read (SPEC 3.4, 3.7): JSON and XML text in chunks of
// some 64 KB, element by element from the same shapes as every other response (the JSON through
// serializers compiled from the shapes' schemas, the XML through the shape-driven writer). A
// failure of the store mid-way ends the response without its closing bytes: the client sees a
// broken transfer, never a document that parses as complete.

import fastJson from 'fast-json-stringify';
import { accountBillings, accountBilling, accountUsage, loadBalancerUsage, loadBalancerUsageRecord } from './shape.ts';
import { shapeSchema } from './jsonSchema.ts';
import { ATOM_XMLNS, XML_DECLARATION, elementXml, openingTag } from './xml.ts';
import { accountUsageView } from '../views.ts';
import { RecordWriter } from './recordRows.ts';
import type { Format } from '../negotiate.ts';
import type { TimePrinter } from '../../domain/time.ts';
import type { BillingItem, LoadBalancerItem } from '../../query/billing.ts';

const accountUsageJson = fastJson(shapeSchema(accountUsage) as any);
const records = new RecordWriter(loadBalancerUsageRecord, 'loadBalancerUsageRecord', loadBalancerUsage.ns);

const CHUNK = 64 * 1024;

/** Joins small pieces into chunks worth a write. */
class Chunks {
  private parts: string[] = [];
  private size = 0;
  add(text: string): string | undefined {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= CHUNK ? this.take() : undefined;
  }
  take(): string {
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    return text;
  }
}

/**
 * One load balancer's records, written from the store's rows (format/recordRows.ts); in JSON its
 * fields in the order the schema's serializer writes them (required ones first).
 */
function loadBalancerUsageText(item: LoadBalancerItem, format: Format, printer: TimePrinter): string {
  const { loadBalancerId, loadBalancerName } = item;
  if (format === 'xml') return `${openingTag('loadBalancerUsage', loadBalancerUsage, { loadBalancerId, loadBalancerName }, 'public')}>${records.xml(item.records, printer)}</loadBalancerUsage>`;
  return `{"loadBalancerUsageRecords":${records.json(item.records, printer)},"links":[],"loadBalancerId":${loadBalancerId},"loadBalancerName":${JSON.stringify(loadBalancerName)}}`;
}

/** `accountBillings` of SPEC 3.4: every account of the day. */
export async function* accountBillingsText(items: AsyncIterable<BillingItem>, format: Format, printer: TimePrinter): AsyncGenerator<string> {
  const out = new Chunks();
  const xml = format === 'xml';
  out.add(xml ? `${XML_DECLARATION}${openingTag('accountBillings', accountBillings, {}, undefined, ATOM_XMLNS)}>` : '{"accountBillings":[');
  let accounts = 0;
  let lbsOfAccount = 0;
  for await (const item of items) {
    let text: string;
    if (item.kind === 'account') {
      const usage = { accountUsageRecords: item.snapshots.map((s) => accountUsageView(s, printer, false)), links: [] };
      const close = accounts === 0 ? '' : xml ? '</accountBilling>' : ']},';
      text = xml
        ? `${close}${openingTag('accountBilling', accountBilling, { accountId: item.accountId }, 'mgmt')}>${elementXml('accountUsage', accountUsage, usage, 'public')}`
        : `${close}{"accountId":${item.accountId},"accountUsage":${accountUsageJson(usage)},"loadBalancerUsages":[`;
      accounts++;
      lbsOfAccount = 0;
    } else {
      text = (xml || lbsOfAccount === 0 ? '' : ',') + loadBalancerUsageText(item, format, printer);
      lbsOfAccount++;
    }
    const chunk = out.add(text);
    if (chunk) yield chunk;
  }
  out.add(accounts === 0 ? '' : xml ? '</accountBilling>' : ']}');
  yield out.take() + (xml ? '</accountBillings>' : ']}');
}

/** `accountBilling` of SPEC 3.7: one account, its snapshots (a page, with links), its load balancers. */
export async function* accountBillingText(accountId: number, usage: { accountUsageRecords: unknown[]; links: unknown[] }, items: AsyncIterable<LoadBalancerItem>, format: Format, printer: TimePrinter): AsyncGenerator<string> {
  const out = new Chunks();
  const xml = format === 'xml';
  const head = out.add(xml
    ? `${XML_DECLARATION}${openingTag('accountBilling', accountBilling, { accountId }, undefined, ATOM_XMLNS)}>${elementXml('accountUsage', accountUsage, usage, 'public')}`
    : `{"accountId":${accountId},"accountUsage":${accountUsageJson(usage)},"loadBalancerUsages":[`);
  if (head) yield head;
  let first = true;
  for await (const item of items) {
    const chunk = out.add((xml || first ? '' : ',') + loadBalancerUsageText(item, format, printer));
    first = false;
    if (chunk) yield chunk;
  }
  yield out.take() + (xml ? '</accountBilling>' : ']}');
}
