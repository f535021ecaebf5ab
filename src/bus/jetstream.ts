// What lbmeter's NATS sink (export/natsSink.ts) and its event consumer (ingest/busEvents.ts)
// share: a stream named after its topic, made on first use.

import type { JetStreamManager } from 'nats';

/** The stream of a topic: lbmeter.usage -> LBMETER_USAGE. */
export const streamName = (topic: string) => topic.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');

/** The stream, made with these subjects if it does not exist. */
export async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[]): Promise<void> {
  await jsm.streams.info(name).catch(() => jsm.streams.add({ name, subjects }));
}
