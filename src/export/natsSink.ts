// The NATS JetStream billing sink (LBMETER_EXPORT_URL=nats://...): each event of a batch
// published to `<topic>.<account>` in a stream that holds `<topic>.>` (made if missing, named
// after the topic: lbmeter.usage -> LBMETER_USAGE), with `Nats-Msg-Id` the event's id, so a
// redelivery within the stream's duplicate window (two minutes by default) is dropped by the
// stream itself. The batch is delivered once every message is acknowledged by the stream.

import { connect, headers, type NatsConnection } from 'nats';
import type { BillingSink, SinkAnswer } from './sink.ts';
import type { ExportableRecord } from '../store/exports.ts';
import { wireEvents } from './formats/index.ts';
import type { BusSinkOptions } from './amqpSink.ts';
import { ensureStream, streamName } from '../bus/jetstream.ts';
import { withoutCredentials } from '../config.ts';

export function natsSink(url: string, options: BusSinkOptions): BillingSink {
  let open: Promise<NatsConnection> | undefined;
  const connection = () => (open ??= (async () => {
    const nc = await connect({ servers: url, timeout: options.timeoutMs, reconnect: false });
    void nc.closed().then(() => { open = undefined; });
    const jsm = await nc.jetstreamManager({ timeout: options.timeoutMs });
    await ensureStream(jsm, streamName(options.topic), [`${options.topic}.>`]);
    return nc;
  })().catch((err) => {
    open = undefined;
    throw err;
  }));
  return {
    description: `nats ${withoutCredentials(url)} subject ${options.topic}.> (${options.format})`,
    async deliver(records: ExportableRecord[]): Promise<SinkAnswer> {
      try {
        const js = (await connection()).jetstream({ timeout: options.timeoutMs });
        let duplicates = 0;
        const events = wireEvents(options.format, records, options);
        for (const e of events) {
          const h = headers();
          h.set('Content-Type', e.contentType);
          const ack = await js.publish(`${options.topic}.${e.accountId}`, Buffer.from(e.body), { msgID: e.id, headers: h, timeout: options.timeoutMs });
          if (ack.duplicate) duplicates++;
        }
        return { ok: true, duplicate: events.length > 0 && duplicates === events.length };
      } catch (err) {
        const failed = open;
        open = undefined;
        await failed?.then((nc) => nc.close()).catch(() => {});
        return { ok: false, error: (err as Error).message || 'the stream did not acknowledge', permanent: false };
      }
    },
    async close() {
      const current = open;
      open = undefined;
      await current?.then((nc) => nc.drain()).catch(() => {});
    },
  };
}
