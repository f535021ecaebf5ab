// HAProxy's stats CSV (`show stat`, or `;csv` over HTTP): frontend rows to exact counters.
// bin and bout are unsigned 64-bit, so they are read as BigInt, never through a float.

import type { FrontendCounters } from './source.ts';

export function parseStatCsv(text: string): FrontendCounters[] {
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error('stats CSV without a "# pxname,..." header');
  const columns = header.slice(2).split(',');
  const at = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`stats CSV without a ${name} column`);
    return i;
  };
  const [px, sv, scur, bin, bout] = [at('pxname'), at('svname'), at('scur'), at('bin'), at('bout')];
  const out: FrontendCounters[] = [];
  for (const line of lines) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(',');
    if (f[sv] !== 'FRONTEND') continue;
    out.push({ name: f[px], bytesIn: counter(f[bin]), bytesOut: counter(f[bout]), sessions: Number(f[scur] || 0) });
  }
  return out;
}

function counter(text: string | undefined): bigint {
  if (!text) return 0n;
  if (!/^\d+$/.test(text)) throw new Error(`stats CSV counter is not a whole number: ${JSON.stringify(text.slice(0, 30))}`);
  return BigInt(text);
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
