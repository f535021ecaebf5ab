// Structured logs (pino, JSON on standard error). A request is logged with its id, method and
// path; of its query string only the parameters the API defines keep their values, so a token
// pasted into a URL by mistake never reaches a log. Headers are not logged at all.

import pino, { type Logger } from 'pino';

const LOGGED_PARAMETERS = new Set(['startTime', 'endTime', 'offset', 'limit', 'top', 'status']);

export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const shown = [...params].map(([name, value]) => `${encodeURIComponent(name)}=${LOGGED_PARAMETERS.has(name) ? encodeURIComponent(value) : '[redacted]'}`);
  return `${url.slice(0, q)}?${shown.join('&')}`;
}

export function createLogger(level: string): Logger {
  return pino({
    level,
    serializers: {
      req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({ method: req.method, url: loggableUrl(req.url ?? ''), remoteAddress: req.ip }),
      err: pino.stdSerializers.err,
    },
  }, pino.destination(2));
}
