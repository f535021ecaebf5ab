// Parses XML back (fast-xml-parser) and resolves namespace prefixes to URIs, so a response
// can be compared with a seed example however each spells its prefixes.

import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  /** "{namespace-uri}localName" */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text?: string;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, parseAttributeValue: false, parseTagValue: false, trimValues: true });

export function parseXml(text: string): XmlElement {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid.err)}`);
  const nodes = parser.parse(text) as any[];
  const root = nodes.find((n) => !('?xml' in n));
  return resolve(root, {});
}

function resolve(node: any, scope: Record<string, string>): XmlElement {
  const tag = Object.keys(node).find((k) => k !== ':@')!;
  const rawAttrs: Record<string, string> = node[':@'] ?? {};
  const ns = { ...scope };
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns') ns[''] = v;
    else if (k.startsWith('xmlns:')) ns[k.slice(6)] = v;
  }
  const qualify = (qname: string, isAttr: boolean) => {
    const i = qname.indexOf(':');
    if (i < 0) return isAttr ? qname : `{${ns[''] ?? ''}}${qname}`;
    return `{${ns[qname.slice(0, i)] ?? qname.slice(0, i)}}${qname.slice(i + 1)}`;
  };
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    attrs[qualify(k, true)] = v;
  }
  const el: XmlElement = { name: qualify(tag, false), attrs, children: [] };
  for (const child of node[tag] as any[]) {
    if ('#text' in child) el.text = (el.text ?? '') + child['#text'];
    else el.children.push(resolve(child, ns));
  }
  return el;
}

export const PUBLIC_NS = 'http://docs.openstack.org/loadbalancers/api/v1.0';
export const MGMT_NS = 'http://docs.openstack.org/loadbalancers/api/management/v1.0';
export const ATOM_NS = 'http://www.w3.org/2005/Atom';
