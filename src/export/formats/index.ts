// The export formats (LBMETER_EXPORT_FORMAT): what a batch of offered records becomes on the wire.
// `cloudevents` (lbmeter's own: a record's full figures a revision, for a receiver that replaces
// by revision), `openmeter` and `lago` (additive engines: a record's signed changes). A format
// gives the request bodies of a batch for HTTP (httpSink.ts), or its events one by one for a bus
// (amqpSink.ts, natsSink.ts), each with the id its receiver deduplicates by.

import type { ExportableRecord } from '../../store/exports.ts';
import { exactJson } from '../../domain/exactJson.ts';
import { BATCH_CONTENT_TYPE, usageEvent } from '../cloudEvents.ts';
import { openMeterEvents } from './openmeter.ts';
import { LAGO_EVENTS_PER_REQUEST, lagoEvents } from './lago.ts';

/** One event as a bus message: its id (the receiver's dedupe key), the account it bills, its JSON. */
export interface WireEvent {
  id: string;
  accountId: number;
  contentType: string;
  body: string;
}

/** The events of these records, one a message. */
export function wireEvents(format: ExportFormatName, records: ExportableRecord[], options: FormatOptions): WireEvent[] {
  switch (format) {
    case 'cloudevents':
      return records.map((r) => {
        const event = usageEvent(r, options.source);
        return { id: event.id, accountId: r.accountId, contentType: 'application/cloudevents+json', body: exactJson(event) };
      });
    case 'openmeter':
      return openMeterEvents(records, options.source).map((event) => ({ id: event.id, accountId: Number(event.subject), contentType: 'application/cloudevents+json', body: exactJson(event) }));
    case 'lago':
      // Lago's single-event body: {"event": {...}}.
      return records.flatMap((r) => lagoEvents([r], options.lagoSubscription).map((event) => ({ id: event.transaction_id, accountId: r.accountId, contentType: 'application/json', body: exactJson({ event }) })));
  }
}

export const EXPORT_FORMATS = ['cloudevents', 'openmeter', 'lago'] as const;
export type ExportFormatName = (typeof EXPORT_FORMATS)[number];

export interface FormatOptions {
  /** CloudEvents `source`. */
  source: string;
  /** Lago's external_subscription_id from `{accountId}` (and `{loadBalancerId}`). */
  lagoSubscription: string;
}

export interface RequestBody {
  contentType: string;
  body: string;
  /** Lago's events of the body, to send again without those it has. */
  events?: unknown[];
}

/** The request bodies that carry these records, in order; every one must be taken. */
export function requestBodies(format: ExportFormatName, records: ExportableRecord[], options: FormatOptions): RequestBody[] {
  switch (format) {
    case 'cloudevents':
    case 'openmeter':
      // CloudEvents batch mode: the events' JSON in an array, as the bus sends them one by one.
      return [{ contentType: BATCH_CONTENT_TYPE, body: `[${wireEvents(format, records, options).map((e) => e.body).join(',')}]` }];
    case 'lago': {
      const events = lagoEvents(records, options.lagoSubscription);
      const bodies: RequestBody[] = [];
      for (let i = 0; i < events.length; i += LAGO_EVENTS_PER_REQUEST) {
        const part = events.slice(i, i + LAGO_EVENTS_PER_REQUEST);
        bodies.push({ contentType: 'application/json', body: exactJson({ events: part }), events: part });
      }
      return bodies;
    }
  }
}
