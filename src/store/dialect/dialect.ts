// What differs between the two engines, as one interface (Kysely's pattern: a dialect object
// per engine, found from the query's adapter). Callers say what they need (a lock, rows in
// bulk, an id list in a statement); each engine's file says how it does it.

import type pg from 'pg';
import type SqliteDatabase from 'better-sqlite3';
import type { ColumnDefinitionBuilder, Compilable, Dialect, ExpressionBuilder, Kysely } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

export interface EngineConnection {
  engine: Engine;
  /** The file or URL it was opened from. */
  location: string;
  dialect: Dialect;
  /** Set when the engine is PostgreSQL, for COPY and raw driver access. */
  pool?: pg.Pool;
  /** Set when the engine is SQLite. */
  sqlite?: SqliteDatabase.Database;
}

export interface BulkColumn<T> {
  name: string;
  /** The column's PostgreSQL type, for its unnest array. */
  pgType: 'bigint' | 'integer' | 'text' | 'double precision';
  /** The column's value for one item. */
  value: (item: T) => unknown;
}

/** A select built on the store's query builder: compiled for the driver, or run through the builder. */
export type RowsQuery = Compilable<unknown> & { execute(): Promise<Record<string, unknown>[]> };

export type LockMode = 'shared' | 'exclusive';

export interface StoreDialect {
  readonly engine: Engine;
  /** The usage tables are partitioned by day (migration 005): days are made, dropped and swapped whole. */
  readonly partitionsByDay: boolean;
  connect(location: string): EngineConnection;
  identityColumn(): { type: 'bigint' | 'integer'; build: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder };
  binaryColumnType(): 'bytea' | 'blob';
  /** True when the error is this engine's way of saying a sum or a value passed its integer type. */
  isOverflow(err: { code?: string; message?: string }): boolean;
  /** True when the error is this engine's way of saying the store cannot be reached now. */
  isUnavailable(err: { code?: string; message?: string }): boolean;

  /** Serializes counter updates of one host across processes, for the rest of the transaction. */
  lockHostCounters(db: Kysely<any>, hostId: number): Promise<void>;
  /** Ingest takes its hours shared, finalisation exclusive (SPEC 5, Late data), for the rest of the transaction. */
  lockHours(db: Kysely<any>, hourMs: readonly number[], mode: LockMode): Promise<void>;
  /** One event batch at a time, for the rest of the transaction. */
  lockEventIntake(db: Kysely<any>): Promise<void>;

  /** The store's clock (ms since the epoch): the one clock every poller of a deployment is held to. */
  clockMs(db: Kysely<any>): Promise<number>;

  /** The id list in as few statements as the engine allows. */
  idBatches(ids: number[]): number[][];
  /** `column in (ids)`, for one of idBatches' lists. */
  idIn(column: string, ids: number[]): (eb: ExpressionBuilder<any, any>) => any;

  /** Inserts one row an item inside the caller's transaction; `conflict` is an ON CONFLICT clause. */
  bulkInsert<T>(db: Kysely<any>, table: string, columns: BulkColumn<T>[], items: readonly T[], conflict?: string): Promise<void>;

  /**
   * A consistent copy of the whole store into a new file, taken while others write; undefined
   * when the engine has its own tools for that (PostgreSQL: pg_dump, docs/operations.md).
   */
  backup?(connection: EngineConnection, file: string): Promise<{ pages: number }>;

  /** The rows of a select in the query's order, a chunk at a time, never all at once; `arrays`: each row its values in select order. */
  streamRows<R>(connection: EngineConnection, query: Compilable<R>, chunkSize: number, arrays?: boolean): AsyncGenerator<R[]>;

  /**
   * The rows of a select as arrays of its columns' values in select order, read apart from any
   * transaction in flight (what was committed when it ran).
   */
  selectRows(connection: EngineConnection, query: RowsQuery): Promise<unknown[][]>;

  /** Closes what the dialect opened beside the query builder's own connection. */
  release(connection: EngineConnection): void;
}
