// PostgreSQL: each poll rewrites a host's packed baselines (5.6 MB for 100k load balancers), and
// TOAST compressed them with pglz, its default: some 120 ms of each host's poll. lz4 does the
// same in a third of that (a poll of 100k load balancers on 2 hosts: 1.05 s -> 0.91 s, measured).
// A server built without lz4 (or before PostgreSQL 14) keeps pglz. SQLite does not compress.

import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../dialect/index.ts';

export async function up(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  if (dialect.engine !== 'postgres') return;
  // The setting lists lz4 among its values only where the server was built with it.
  const { rows } = await sql<{ lz4: boolean }>`select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`.execute(db);
  if (rows[0]?.lz4) await sql`alter table host_baselines alter column links set compression lz4`.execute(db);
}
