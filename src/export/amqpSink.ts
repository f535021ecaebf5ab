// The RabbitMQ billing sink (LBMETER_EXPORT_URL=amqp://... or amqps://): each event of a batch a
// persistent message on a durable topic exchange (LBMETER_EXPORT_TOPIC), routing key
// `usage.<account>`, its id as `messageId` for consumers to drop redeliveries by. The batch is
// delivered once the broker has confirmed every message (publisher confirms): only then are the
// records marked exported. A broker down or a channel closed is a failure retried with backoff
// like HTTP's; the connection is made again on the next batch.

import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { BillingSink, SinkAnswer } from './sink.ts';
import type { ExportableRecord } from '../store/exports.ts';
import { wireEvents, type ExportFormatName, type FormatOptions } from './formats/index.ts';
import { withoutCredentials } from '../config.ts';

export interface BusSinkOptions extends FormatOptions {
  format: ExportFormatName;
  /** The exchange (AMQP) or subject (NATS) the usage goes to. */
  topic: string;
  timeoutMs: number;
}

export function amqpSink(url: string, options: BusSinkOptions): BillingSink {
  let open: Promise<{ connection: ChannelModel; channel: ConfirmChannel }> | undefined;
  const connect = () => (open ??= (async () => {
    const connection = await amqp.connect(url, { timeout: options.timeoutMs });
    // A broken connection is dropped here and made again by the next batch.
    const forget = () => { open = undefined; };
    connection.on('error', forget);
    connection.on('close', forget);
    const channel = await connection.createConfirmChannel();
    channel.on('error', forget);
    channel.on('close', forget);
    await channel.assertExchange(options.topic, 'topic', { durable: true });
    return { connection, channel };
  })().catch((err) => {
    open = undefined;
    throw err;
  }));
  return {
    description: `amqp ${withoutCredentials(url)} exchange ${options.topic} (${options.format})`,
    async deliver(records: ExportableRecord[]): Promise<SinkAnswer> {
      try {
        const { channel } = await connect();
        for (const e of wireEvents(options.format, records, options)) {
          channel.publish(options.topic, `usage.${e.accountId}`, Buffer.from(e.body), {
            persistent: true, messageId: e.id, contentType: e.contentType, type: options.format, appId: 'lbmeter',
          });
        }
        await withTimeout(channel.waitForConfirms(), options.timeoutMs);
        return { ok: true, duplicate: false };
      } catch (err) {
        const failed = open;
        open = undefined;
        await failed?.then(({ connection }) => connection.close()).catch(() => {});
        return { ok: false, error: (err as Error).message || 'the broker refused the messages', permanent: false };
      }
    },
    async close() {
      const current = open;
      open = undefined;
      await current?.then(({ connection }) => connection.close()).catch(() => {});
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`no confirmation within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}
