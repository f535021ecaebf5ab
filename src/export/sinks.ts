// The billing sink the configuration names (only HTTP so far; a queue or a file sink would
// join here).

import type { ExportConfig } from '../config.ts';
import type { BillingSink } from './sink.ts';
import { httpSink } from './httpSink.ts';

export function configuredSink(config: ExportConfig): BillingSink | undefined {
  return config.url ? httpSink(config.url, { source: config.source, timeoutMs: config.timeoutMs }) : undefined;
}
