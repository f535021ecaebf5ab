// The billing sink the configuration names, by the scheme of LBMETER_EXPORT_URL: http(s) posts
// batches, amqp(s) publishes to RabbitMQ, nats to a JetStream stream; any format on any of them.

import type { ExportConfig } from '../config.ts';
import type { BillingSink } from './sink.ts';
import { httpSink } from './httpSink.ts';
import { amqpSink } from './amqpSink.ts';
import { natsSink } from './natsSink.ts';

export function configuredSink(config: ExportConfig): BillingSink | undefined {
  if (!config.url) return undefined;
  const common = { format: config.format, source: config.source, lagoSubscription: config.lagoSubscription, timeoutMs: config.timeoutMs };
  const scheme = new URL(config.url).protocol;
  if (scheme === 'amqp:' || scheme === 'amqps:') return amqpSink(config.url, { ...common, topic: config.topic });
  if (scheme === 'nats:') return natsSink(config.url, { ...common, topic: config.topic });
  return httpSink(config.url, { ...common, ...(config.token ? { token: config.token } : {}) });
}
