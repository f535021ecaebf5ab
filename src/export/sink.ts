// Billing sinks behind one small interface (like the stats sources): each takes a batch of
// closed usage records and says whether the billing side has them now.

import type { ExportableRecord } from '../store/exports.ts';

export type SinkAnswer =
  /** The sink has every record of the batch; `duplicate`: it had them already (HTTP 409). */
  | { ok: true; duplicate: boolean }
  /** Not accepted. `permanent`: sending the same again cannot succeed (a dead letter at once). */
  | { ok: false; error: string; permanent: boolean };

export interface BillingSink {
  readonly description: string;
  deliver(records: ExportableRecord[]): Promise<SinkAnswer>;
  /** Lets go of a connection it keeps (a bus's); the process is stopping. */
  close?(): Promise<void>;
}
