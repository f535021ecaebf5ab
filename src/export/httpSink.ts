// The HTTP billing sink: POSTs a CloudEvents batch. 2xx: delivered. 409: the receiver has them
// already, delivered too. 408, 425, 429, 5xx, a timeout or no connection: try again later.
// Any other answer cannot get better by sending the same again: a dead letter at once.

import type { BillingSink, SinkAnswer } from './sink.ts';
import type { ExportableRecord } from '../store/exports.ts';
import { BATCH_CONTENT_TYPE, usageEventBatch } from './cloudEvents.ts';

const RETRYABLE = new Set([408, 425, 429]);

export function httpSink(url: string, options: { source: string; timeoutMs: number }): BillingSink {
  return {
    description: `http ${url}`,
    async deliver(records: ExportableRecord[]): Promise<SinkAnswer> {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': BATCH_CONTENT_TYPE },
          body: usageEventBatch(records, options.source),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        await res.arrayBuffer(); // the answer body is not used; reading it frees the connection
      } catch (err) {
        const e = err as Error;
        const reason = e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message;
        return { ok: false, error: reason, permanent: false };
      }
      if (res.status >= 200 && res.status < 300) return { ok: true, duplicate: false };
      if (res.status === 409) return { ok: true, duplicate: true };
      const permanent = res.status < 500 && !RETRYABLE.has(res.status);
      return { ok: false, error: `answered ${res.status}`, permanent };
    },
  };
}
