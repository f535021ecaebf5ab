// Structural comparison of a response with a seed example: the same names, nesting, value
// types and XML namespaces; values may differ where the seeds force it (ids, times).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { XmlElement } from './xml.ts';
import { parseXml } from './xml.ts';

/** Fields that appear only when set (SPEC 3: eventType "only when set"). */
const OPTIONAL = new Set(['eventType']);

export function seedJson(name: string): any {
  return JSON.parse(readFileSync(new URL(`../fixtures/seeds/${name}`, import.meta.url), 'utf8'));
}

export function seedXml(name: string): XmlElement {
  return parseXml(readFileSync(new URL(`../fixtures/seeds/${name}`, import.meta.url), 'utf8'));
}

export function assertSameJsonShape(seed: unknown, ours: unknown, path = '$'): void {
  if (Array.isArray(seed)) {
    assert.ok(Array.isArray(ours), `${path}: expected an array, got ${typeof ours}`);
    if (seed.length === 0) return;
    (ours as unknown[]).forEach((item, i) => assertSameJsonShape(seed[Math.min(i, seed.length - 1)], item, `${path}[${i}]`));
    return;
  }
  if (seed !== null && typeof seed === 'object') {
    assert.ok(ours !== null && typeof ours === 'object' && !Array.isArray(ours), `${path}: expected an object`);
    const a = new Set(Object.keys(seed));
    const b = new Set(Object.keys(ours as object));
    for (const k of a) if (!b.has(k) && !OPTIONAL.has(k)) assert.fail(`${path}.${k}: in the seed, missing from the response`);
    for (const k of b) if (!a.has(k) && !OPTIONAL.has(k)) assert.fail(`${path}.${k}: in the response, not in the seed`);
    for (const k of a) if (b.has(k)) assertSameJsonShape((seed as any)[k], (ours as any)[k], `${path}.${k}`);
    return;
  }
  assert.equal(typeof ours, typeof seed, `${path}: expected a ${typeof seed}, got ${JSON.stringify(ours)}`);
}

const XSI_TYPE = '{http://www.w3.org/2001/XMLSchema-instance}type';

export function assertSameXmlShape(seed: XmlElement, ours: XmlElement, path = ''): void {
  const here = `${path}/${ours.name}`;
  assert.equal(ours.name, seed.name, `${path}: element ${ours.name} where the seed has ${seed.name}`);
  const a = Object.keys(seed.attrs).filter((k) => k !== XSI_TYPE && !OPTIONAL.has(k));
  const b = Object.keys(ours.attrs).filter((k) => !OPTIONAL.has(k));
  assert.deepEqual(new Set(b), new Set(a), `${here}: attributes differ`);
  for (const k of a) {
    const numeric = /^-?\d+(\.\d+)?$/;
    assert.equal(numeric.test(ours.attrs[k]), numeric.test(seed.attrs[k]), `${here}@${k}: ${ours.attrs[k]} is not of the seed's kind (${seed.attrs[k]})`);
  }
  const seedNames = [...new Set(seed.children.map((c) => c.name))];
  const ourNames = [...new Set(ours.children.map((c) => c.name))];
  if (seed.children.length > 0 && ours.children.length > 0) assert.deepEqual(ourNames, seedNames, `${here}: child elements differ`);
  for (const child of ours.children) {
    const twin = seed.children.find((c) => c.name === child.name);
    if (twin) assertSameXmlShape(twin, child, here);
  }
}

/** Exact comparison of two normalized trees (attribute values included), ignoring xsi:type. */
export function stripForCompare(el: XmlElement, hrefOrigin?: (href: string) => string): unknown {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) {
    if (k === XSI_TYPE) continue;
    attrs[k] = k === 'href' && hrefOrigin ? hrefOrigin(v) : v;
  }
  return { name: el.name, attrs, children: el.children.map((c) => stripForCompare(c, hrefOrigin)) };
}
