// The billing sink the configuration names: HTTP in the configured format (a bus sink joins
// here by the URL's scheme).

import type { ExportConfig } from '../config.ts';
import type { BillingSink } from './sink.ts';
import { httpSink } from './httpSink.ts';

export function configuredSink(config: ExportConfig): BillingSink | undefined {
  if (!config.url) return undefined;
  return httpSink(config.url, {
    format: config.format, source: config.source, lagoSubscription: config.lagoSubscription, timeoutMs: config.timeoutMs,
    ...(config.token ? { token: config.token } : {}),
  });
}
