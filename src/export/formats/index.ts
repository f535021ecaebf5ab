// The export formats (LBMETER_EXPORT_FORMAT): what a batch of offered records becomes on the wire.
// `cloudevents` (lbmeter's own: a record's full figures a revision, for a receiver that replaces
// by revision), `openmeter` and `lago` (additive engines: a record's signed changes). A format
// gives the request bodies of a batch; the sink (httpSink.ts) sends them, all or retry.

import type { ExportableRecord } from '../../store/exports.ts';
import { exactJson } from '../../domain/exactJson.ts';
import { BATCH_CONTENT_TYPE, usageEvent } from '../cloudEvents.ts';
import { openMeterEvents } from './openmeter.ts';
import { LAGO_EVENTS_PER_REQUEST, lagoEvents } from './lago.ts';

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
      return [{ contentType: BATCH_CONTENT_TYPE, body: exactJson(records.map((r) => usageEvent(r, options.source))) }];
    case 'openmeter':
      return [{ contentType: BATCH_CONTENT_TYPE, body: exactJson(openMeterEvents(records, options.source)) }];
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
