// The HTTP billing sink: POSTs a batch in the configured format (formats/index.ts), each request
// body in turn. 2xx: delivered. 409: the receiver has them already, delivered too. 408, 425, 429,
// 5xx, a timeout or no connection: try the whole batch again later (the receiver drops what it
// has by id). Any other answer cannot get better by sending the same again: a dead letter at once.
// Lago answers 422 naming the events whose transaction_id it has: those are sent no more, the
// rest of the request again.

import type { BillingSink, SinkAnswer } from './sink.ts';
import type { ExportableRecord } from '../store/exports.ts';
import { requestBodies, type ExportFormatName, type FormatOptions, type RequestBody } from './formats/index.ts';
import { exactJson } from '../domain/exactJson.ts';

const RETRYABLE = new Set([408, 425, 429]);

export interface HttpSinkOptions extends Partial<FormatOptions> {
  source: string;
  /** Default cloudevents. */
  format?: ExportFormatName;
  timeoutMs: number;
  /** Sent as `Authorization: Bearer` (LBMETER_EXPORT_TOKEN: Lago's API key, OpenMeter's token). */
  token?: string;
}

type Posted = { status: number; text: string } | { error: string };

export function httpSink(url: string, given: HttpSinkOptions): BillingSink {
  const options = { format: 'cloudevents' as ExportFormatName, lagoSubscription: '{accountId}', ...given };
  const post = async (body: RequestBody): Promise<Posted> => {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': body.contentType, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        body: body.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      return { status: res.status, text: await res.text() }; // read whole: it frees the connection
    } catch (err) {
      const e = err as Error;
      return { error: e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message };
    }
  };
  return {
    description: `http ${url} (${options.format})`,
    async deliver(records: ExportableRecord[]): Promise<SinkAnswer> {
      let duplicate = true;
      for (const body of requestBodies(options.format, records, options)) {
        let answer = await post(body);
        if (options.format === 'lago' && 'status' in answer && answer.status === 422) {
          const rest = withoutKnownEvents(body, answer.text);
          if (rest === null) return { ok: false, error: `answered 422: ${answer.text.slice(0, 200)}`, permanent: true };
          if (rest === undefined) continue; // it had every event of this request
          answer = await post(rest);
        }
        if ('error' in answer) return { ok: false, error: answer.error, permanent: false };
        if (answer.status === 409) continue;
        if (answer.status >= 200 && answer.status < 300) {
          duplicate = false;
          continue;
        }
        const permanent = answer.status < 500 && !RETRYABLE.has(answer.status);
        return { ok: false, error: `answered ${answer.status}`, permanent };
      }
      return { ok: true, duplicate };
    },
  };
}

/**
 * Lago's 422 for events whose transaction_id it has (`error_details` by index:
 * `{"transaction_id": ["value_already_exist"]}`): the request without them, undefined when none
 * is left, null when the answer names another problem (a dead letter: it cannot get better).
 */
function withoutKnownEvents(body: RequestBody, answer: string): RequestBody | undefined | null {
  let details: Record<string, Record<string, string[]>>;
  try {
    details = JSON.parse(answer).error_details;
  } catch {
    return null;
  }
  if (!details || typeof details !== 'object') return null;
  const known = new Set<number>();
  for (const [index, errors] of Object.entries(details)) {
    const only = Object.entries(errors ?? {});
    if (!/^\d+$/.test(index) || only.length !== 1 || only[0]![0] !== 'transaction_id' || !only[0]![1].includes('value_already_exist')) return null;
    known.add(Number(index));
  }
  const events = (body.events ?? []).filter((_, i) => !known.has(i));
  return events.length ? { contentType: body.contentType, body: exactJson({ events }), events } : undefined;
}
