// HAProxy's stats page over HTTP: `;csv` for the counters, the HTML page for the process id.
// The page has no exact start time, so the process counts as older than any load balancer: a
// first reading only sets a baseline (never billed twice); resets still show as a new pid or a
// falling counter. A page behind `stats auth` is read with HTTP basic authentication; the
// credentials (kept in the stored URL) never appear in a message, a log or an answer.

import { statCsvReader, type FrontendReadings } from '../frontendReadings.ts';
import type { StatsReading, StatsSource } from './source.ts';

/** A stats URL's credentials, taken out of it: the URL that may be shown, and what to authenticate with. */
export function splitCredentials(url: string): { url: string; username?: string; password?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  if (!parsed.username && !parsed.password) return { url };
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), username, password };
}

/** The URL to store: the shown URL with the credentials in it. */
export function withCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(username);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export function httpSource(storedUrl: string): StatsSource {
  const { url, username, password } = splitCredentials(storedUrl);
  const csvUrl = /;csv/.test(url) ? url : `${url};csv`;
  const htmlUrl = csvUrl.replace(/;csv.*$/, '');
  const headers: Record<string, string> = { accept: 'text/plain, text/html' };
  if (username !== undefined) headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  const fetchOk = async (target: string, signal: AbortSignal) => {
    const res = await fetch(target, { signal, headers });
    // The page and its CSV are read at once; whichever is refused first, the answer names the page.
    if (res.status === 401) throw new Error(`${htmlUrl} answered 401: ${username === undefined ? 'the page asks for credentials (give stats.username and stats.password)' : 'the credentials were refused'}`);
    if (!res.ok) throw new Error(`${target} answered ${res.status}`);
    return res;
  };
  return {
    description: `stats ${htmlUrl}`,
    async read(signal): Promise<StatsReading> {
      const [html, loadBalancers] = await Promise.all([fetchOk(htmlUrl, signal).then((res) => res.text()), fetchOk(csvUrl, signal).then(readCsv)]);
      const pid = /pid = <\/b>\s*(\d+)/.exec(html)?.[1];
      if (!pid) throw new Error(`no "pid =" on the stats page ${htmlUrl}`);
      return { process: { pid: Number(pid), startMs: 0 }, loadBalancers };
    },
  };
}

async function readCsv(res: Response): Promise<FrontendReadings> {
  const reader = statCsvReader();
  if (res.body) for await (const chunk of res.body) reader.push(chunk);
  return reader.end();
}
