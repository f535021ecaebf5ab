// Response format (SPEC 2.1): a .xml/.json suffix wins; otherwise the Accept header.

export type Format = 'json' | 'xml';

const SUFFIX = /\.(json|xml)$/;

/** Strips a format suffix from the path of a URL; returns the new URL and the suffix. */
export function stripSuffix(url: string): { url: string; suffix?: Format } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const m = SUFFIX.exec(path);
  if (!m) return { url };
  return { url: path.slice(0, -m[0].length) + (q < 0 ? '' : url.slice(q)), suffix: m[1] as Format };
}

const TYPES: Record<string, Format | 'any'> = {
  'application/json': 'json',
  'application/xml': 'xml',
  'text/xml': 'xml',
  '*/*': 'any',
  'application/*': 'any',
};

/** The format for an Accept header, or undefined when it allows neither JSON nor XML. */
export function formatFromAccept(accept: string | undefined): Format | undefined {
  if (!accept || !accept.trim()) return 'json';
  let best: { format: Format; q: number; order: number } | undefined;
  accept.split(',').forEach((part, order) => {
    const [type, ...params] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const match = TYPES[type];
    if (!match || !(q > 0)) return;
    const format: Format = match === 'any' ? 'json' : match;
    if (!best || q > best.q) best = { format, q, order };
  });
  return best?.format;
}
