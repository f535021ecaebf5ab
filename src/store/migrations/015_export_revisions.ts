// The figures of every revision of a record as it was offered to billing (SPEC 5, Export), kept
// for the additive formats (OpenMeter, Lago): a correction is sent to them as a change whose
// sum with the revisions before equals the latest figures, so each revision billing may have
// is remembered. An offered revision never changes (a change to it is a new revision), so a row
// here is written once. Expand only.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('export_revisions')
    .addColumn('load_balancer_id', 'bigint', (c) => c.notNull())
    .addColumn('start_ms', 'bigint', (c) => c.notNull())
    .addColumn('closing', 'integer', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('end_ms', 'bigint', (c) => c.notNull())
    .addColumn('bytes_in', 'bigint', (c) => c.notNull())
    .addColumn('bytes_out', 'bigint', (c) => c.notNull())
    .addColumn('bytes_in_ssl', 'bigint', (c) => c.notNull())
    .addColumn('bytes_out_ssl', 'bigint', (c) => c.notNull())
    .addColumn('vip_type', 'text', (c) => c.notNull())
    .addColumn('ssl_mode', 'text', (c) => c.notNull())
    .addColumn('voided', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('export_revisions_pk', ['load_balancer_id', 'start_ms', 'closing', 'revision'])
    .execute();
}
