// The store's engine differences, one dialect object per engine (dialect.ts), found from the
// query builder's adapter; and the calls the store makes through it, so call sites name what
// they need and never the engine.

import { PostgresAdapter, type Compilable, type Kysely } from 'kysely';
import { postgresDialect } from './postgres.ts';
import { sqliteDialect } from './sqlite.ts';
import type { BulkColumn, Engine, EngineConnection, LockMode, RowsQuery, StoreDialect } from './dialect.ts';

export type { BulkColumn, Engine, EngineConnection, LockMode, RowsQuery, StoreDialect } from './dialect.ts';

export function engineOf(location: string): Engine {
  return /^postgres(ql)?:\/\//.test(location) ? 'postgres' : 'sqlite';
}

export function dialectFor(engine: Engine): StoreDialect {
  return engine === 'postgres' ? postgresDialect : sqliteDialect;
}

/** The dialect of the store a query builder (or one of its transactions) runs on. */
export function dialectOf(db: Kysely<any>): StoreDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? postgresDialect : sqliteDialect;
}

export function connect(location: string): EngineConnection {
  return dialectFor(engineOf(location)).connect(location);
}

/** True when an error means the store cannot be reached now (503), not a bug (500). */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return !!e && (postgresDialect.isUnavailable(e) || sqliteDialect.isUnavailable(e));
}

/** True when an error means a sum or value passed the engine's integer type. */
export const isOverflow = (db: Kysely<any>, err: unknown) => dialectOf(db).isOverflow((err ?? {}) as { code?: string; message?: string });

/** The store's clock, in ms since the epoch. */
export const storeClockMs = (db: Kysely<any>) => dialectOf(db).clockMs(db);

/** Serializes counter updates of one host across processes for the rest of the transaction. */
export const lockHostCounters = (db: Kysely<any>, hostId: number) => dialectOf(db).lockHostCounters(db, hostId);

/**
 * Serializes the ingest of an hour's data with its finalisation (SPEC 5, Late data): ingest
 * takes its hours shared, the rollup finalising an hour takes it exclusive, so no reading or
 * event can commit unheld into an hour that has just become final.
 */
export const lockHours = (db: Kysely<any>, hourMs: readonly number[], mode: LockMode) => dialectOf(db).lockHours(db, hourMs, mode);

/**
 * One event batch at a time: intake recomputes load balancer states and account snapshots from
 * every stored event, which two concurrent batches for one load balancer would each do without
 * the other's events. Provisioning events are few; the lock costs nothing at their rate.
 */
export const lockEventIntake = (db: Kysely<any>) => dialectOf(db).lockEventIntake(db);

export const idBatches = (db: Kysely<any>, ids: number[]) => dialectOf(db).idBatches(ids);
export const idIn = (db: Kysely<any>, column: string, ids: number[]) => dialectOf(db).idIn(column, ids);

export function bulkInsert<T>(db: Kysely<any>, table: string, columns: BulkColumn<T>[], items: readonly T[], conflict = ''): Promise<void> {
  return items.length ? dialectOf(db).bulkInsert(db, table, columns, items, conflict) : Promise.resolve();
}


/**
 * The rows of a select in the query's order, a chunk at a time, never all of them at once: a
 * report of a whole fleet's day streams through here. A failure mid-way throws from the iteration.
 * 200 rows a chunk: a chunk of 2000 outlived two young-generation collections while it was used
 * (serve's is 4 MB) and filled the old one (a billing day of 100k LBs: 14.5 s against 9-10 s).
 */
export function streamRows<R>(connection: EngineConnection, query: Compilable<R>, chunkSize = 200): AsyncGenerator<R[]> {
  return dialectFor(connection.engine).streamRows(connection, query, chunkSize);
}

/** streamRows with each row as its values in select order (what the record writer takes). */
export function streamRowArrays(connection: EngineConnection, query: Compilable<unknown>, chunkSize = 200): AsyncGenerator<unknown[][]> {
  return dialectFor(connection.engine).streamRows<unknown[]>(connection, query as Compilable<unknown[]>, chunkSize, true);
}

/**
 * A select's rows as arrays of values in select order, straight from the driver (no object a row,
 * no column names): what a page of 1000 records is written from (api/format/recordRows.ts).
 */
export function selectRows(connection: EngineConnection, query: RowsQuery): Promise<unknown[][]> {
  return dialectFor(connection.engine).selectRows(connection, query);
}
