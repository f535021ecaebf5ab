// What an additive billing engine (OpenMeter, Lago: they SUM what they receive) must be sent for a
// record so that the sum over everything it received equals the record's latest figures, however
// often it was corrected: revision 0 its figures; each later revision the signed difference from
// the one before, or, where an attribute engines group by (VIP type, SSL mode) changed, the one
// before reversed and its own figures in full (a difference cannot move bytes between groups); a
// void, the last figures reversed. Each change has its own deterministic name, so a redelivery is
// a duplicate the engine drops, and a change sent again with the later ones (the chain is sent
// whole each time: a revision offered and never received is sent again) is one too.

import type { ExportableRecord, OfferedRevision } from '../../store/exports.ts';
import { NO_BYTES, subtractTransfers } from '../../domain/delta.ts';

export interface Figures {
  bytesIn: bigint;
  bytesOut: bigint;
  bytesInSsl: bigint;
  bytesOutSsl: bigint;
  /** Load balancer hours the record covers (a closing record: 0). */
  hours: number;
}

export interface Change {
  /** Unique for the record: `revision-N`, `revision-N-reversal`. */
  name: string;
  revision: number;
  figures: Figures;
  vipType: string;
  sslMode: string;
}

const HOUR_MS = 3_600_000;
const ZERO: Figures = { ...NO_BYTES, hours: 0 };

function figuresOf(r: OfferedRevision): Figures {
  if (r.voided) return ZERO;
  return { bytesIn: r.bytesIn, bytesOut: r.bytesOut, bytesInSsl: r.bytesInSsl, bytesOutSsl: r.bytesOutSsl, hours: (r.endMs - r.startMs) / HOUR_MS };
}

const minus = (a: Figures, b: Figures): Figures => ({ ...subtractTransfers(a, b), hours: a.hours - b.hours });

/** The record's changes, oldest first: their sum is its latest figures (zero when voided). */
export function changesOf(record: ExportableRecord): Change[] {
  const current: OfferedRevision = {
    revision: record.revision, startMs: record.startMs, endMs: record.endMs, bytesIn: BigInt(record.bytesIn), bytesOut: BigInt(record.bytesOut),
    bytesInSsl: BigInt(record.bytesInSsl), bytesOutSsl: BigInt(record.bytesOutSsl), vipType: record.vipType, sslMode: record.sslMode, voided: record.voided,
  };
  const revisions = [...(record.earlier ?? []), current];
  const changes: Change[] = [];
  let before: OfferedRevision | undefined;
  for (const r of revisions) {
    const own = figuresOf(r);
    if (!before) changes.push({ name: `revision-${r.revision}`, revision: r.revision, figures: own, vipType: r.vipType, sslMode: r.sslMode });
    else if (r.voided || (before.vipType === r.vipType && before.sslMode === r.sslMode)) {
      changes.push({ name: `revision-${r.revision}`, revision: r.revision, figures: minus(own, figuresOf(before)), vipType: before.vipType, sslMode: before.sslMode });
    } else {
      changes.push({ name: `revision-${r.revision}-reversal`, revision: r.revision, figures: minus(ZERO, figuresOf(before)), vipType: before.vipType, sslMode: before.sslMode });
      changes.push({ name: `revision-${r.revision}`, revision: r.revision, figures: own, vipType: r.vipType, sslMode: r.sslMode });
    }
    before = r;
  }
  return changes;
}
