// Paging links (SPEC 2.3): absolute, built from the public base URL, repeating the caller's
// parameters and changing only offset (and keeping limit).

import type { Paging } from './params.ts';
import { jsonLinks } from './format/jsonSchema.ts';

export function pageLinks(baseUrl: string, originalUrl: string, paging: Paging, more: boolean) {
  const links: { href: string; rel: 'next' | 'previous' }[] = [];
  if (more) links.push({ href: linkTo(baseUrl, originalUrl, paging.offset + paging.limit, paging.limit), rel: 'next' });
  if (paging.offset > 0) links.push({ href: linkTo(baseUrl, originalUrl, Math.max(0, paging.offset - paging.limit), paging.limit), rel: 'previous' });
  return jsonLinks(links);
}

function linkTo(baseUrl: string, originalUrl: string, offset: number, limit: number): string {
  const q = originalUrl.indexOf('?');
  const path = q < 0 ? originalUrl : originalUrl.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : originalUrl.slice(q + 1));
  const pairs: [string, string][] = [];
  let sawOffset = false, sawLimit = false;
  for (const [k, v] of params) {
    if (k === 'offset') {
      if (!sawOffset) pairs.push([k, String(offset)]);
      sawOffset = true;
    } else if (k === 'limit') {
      if (!sawLimit) pairs.push([k, String(limit)]);
      sawLimit = true;
    } else pairs.push([k, v]);
  }
  if (!sawOffset) pairs.push(['offset', String(offset)]);
  if (!sawLimit) pairs.push(['limit', String(limit)]);
  return baseUrl + path + '?' + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}
