// HAProxy's stats page over HTTP: `;csv` for the counters, the HTML page for the process id.
// The page has no exact start time, so the process counts as older than any load balancer: a
// first reading only sets a baseline (never billed twice); resets still show as a new pid or a
// falling counter.

import { statCsvReader, type FrontendReadings } from '../frontendReadings.ts';
import type { StatsReading, StatsSource } from './source.ts';

export function httpSource(url: string): StatsSource {
  const csvUrl = /;csv/.test(url) ? url : `${url};csv`;
  const htmlUrl = csvUrl.replace(/;csv.*$/, '');
  return {
    description: `stats ${htmlUrl}`,
    async read(signal): Promise<StatsReading> {
      const [html, loadBalancers] = await Promise.all([fetchOk(htmlUrl, signal).then((res) => res.text()), readCsv(csvUrl, signal)]);
      const pid = /pid = <\/b>\s*(\d+)/.exec(html)?.[1];
      if (!pid) throw new Error(`no "pid =" on the stats page ${htmlUrl}`);
      return { process: { pid: Number(pid), startMs: 0 }, loadBalancers };
    },
  };
}

async function readCsv(url: string, signal: AbortSignal): Promise<FrontendReadings> {
  const res = await fetchOk(url, signal);
  const reader = statCsvReader();
  if (res.body) for await (const chunk of res.body) reader.push(chunk);
  return reader.end();
}

async function fetchOk(url: string, signal: AbortSignal): Promise<Response> {
  const res = await fetch(url, { signal, headers: { accept: 'text/plain, text/html' } });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res;
}
