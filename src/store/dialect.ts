// Everything that differs between the two engines lives here: how to connect, the identity
// column, which driver errors mean "the store is unreachable", locks, and how many rows travel
// in one statement (PostgreSQL takes whole arrays, SQLite a limited number of bound values).

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import Cursor from 'pg-cursor';
import copyStreams from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PostgresAdapter, PostgresDialect, SqliteDialect, sql, type ColumnDefinitionBuilder, type Compilable, type Dialect, type ExpressionBuilder, type Kysely } from 'kysely';

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

/** Up to 15 digits always fit a double exactly (2^53 has 16). */
function parseInt8(text: string): number | bigint {
  return text.length <= 15 ? Number(text) : BigInt(text);
}

export function engineOf(location: string): Engine {
  return /^postgres(ql)?:\/\//.test(location) ? 'postgres' : 'sqlite';
}

export function connect(location: string): EngineConnection {
  if (engineOf(location) === 'postgres') {
    const pool = new pg.Pool({
      connectionString: location,
      max: 10,
      connectionTimeoutMillis: 5_000,
      // int8 columns (bytes, epoch ms, ids) come back exact: a number while a double holds them
      // exactly, a bigint beyond (readers convert with rows.ts). Most values are small, and a
      // page of 1000 records would otherwise make 12 000 bigints.
      types: { getTypeParser: (oid: number, format?: any) => (oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, format)) } as any,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    return { engine: 'postgres', location, dialect: new PostgresStoreDialect(pool), pool };
  }
  if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
  const sqlite = new SqliteDatabase(location);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Every integer comes back as bigint: byte counters are exact up to 2^63.
  sqlite.defaultSafeIntegers(true);
  return { engine: 'sqlite', location, dialect: new SqliteDialect({ database: sqlite }), sqlite };
}

export function identityColumn(engine: Engine) {
  return engine === 'postgres'
    ? { type: 'bigint' as const, build: (c: ColumnDefinitionBuilder) => c.primaryKey().generatedByDefaultAsIdentity() }
    : { type: 'integer' as const, build: (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement() };
}

export function binaryColumnType(engine: Engine) {
  return engine === 'postgres' ? 'bytea' as const : 'blob' as const;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE',
  '57P01', '57P02', '57P03', '53300',
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL',
]);

/** True when an error means the store cannot be reached now (503), not a bug (500). */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && (UNREACHABLE_CODES.has(e.code) || e.code.startsWith('08') || e.code.startsWith('SQLITE_IOERR'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Cannot use a pool after calling end|database connection is not open/i.test(e.message ?? '');
}

/**
 * Serializes counter updates of one host across processes for the rest of the transaction.
 * SQLite needs nothing: the transaction's first statement is a write, which takes the
 * database's single write lock. PostgreSQL takes a transaction-scoped advisory lock.
 */
export async function lockHostCounters(db: Kysely<any>, hostId: number): Promise<void> {
  if (isPostgres(db)) await sql`select pg_advisory_xact_lock(${hostId}::bigint)`.execute(db);
}

/** Advisory lock classes (PostgreSQL's two-key form, apart from the host locks' one-key form). */
const LOCK_CLASS = { eventIntake: 1, hour: 2 } as const;

/**
 * Serializes the ingest of an hour's data with its finalisation (SPEC 5, Late data): ingest
 * takes its hours shared, the rollup finalising an hour takes it exclusive, so no reading or
 * event can commit unheld into an hour that has just become final. SQLite needs nothing: its
 * writers are serialized by the database's single write lock, taken by each transaction's first
 * statement (a write in both).
 */
export async function lockHours(db: Kysely<any>, hourMs: readonly number[], mode: 'shared' | 'exclusive'): Promise<void> {
  if (!isPostgres(db) || hourMs.length === 0) return;
  // In ascending order, so two transactions taking several hours cannot deadlock.
  const keys = [...new Set(hourMs.map((h) => Math.floor(h / 3_600_000)))].sort((a, b) => a - b);
  const fn = sql.raw(mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock');
  await sql`select ${fn}(${LOCK_CLASS.hour}, k::int) from unnest(${arrayLiteral(keys, false)}::bigint[]) as k`.execute(db);
}

/**
 * One event batch at a time: intake recomputes load balancer states and account snapshots from
 * every stored event, which two concurrent batches for one load balancer would each do without
 * the other's events. Provisioning events are few; the lock costs nothing at their rate.
 */
export async function lockEventIntake(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) await sql`select pg_advisory_xact_lock(${LOCK_CLASS.eventIntake}, 0)`.execute(db);
}

export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** SQLite binds at most 32766 values a statement; PostgreSQL takes an id list as one array. */
const SQLITE_IDS_PER_STATEMENT = 10_000;

/** The id list in as few statements as the engine allows. */
export function idBatches(db: Kysely<any>, ids: number[]): number[][] {
  if (isPostgres(db)) return ids.length ? [ids] : [];
  const out: number[][] = [];
  for (let i = 0; i < ids.length; i += SQLITE_IDS_PER_STATEMENT) out.push(ids.slice(i, i + SQLITE_IDS_PER_STATEMENT));
  return out;
}

/** `column in (ids)`: one array parameter on PostgreSQL, a list of values on SQLite. */
export function idIn(db: Kysely<any>, column: string, ids: number[]) {
  return (eb: ExpressionBuilder<any, any>) => (isPostgres(db) ? eb(column, '=', sql<number>`any(${arrayLiteral(ids, false)}::bigint[])`) : eb(column, 'in', ids));
}

/**
 * A PostgreSQL array literal, sent as one text parameter. The driver can take a JS array, but
 * it escapes element by element: ten times slower on a poll's 100k rows a column (measured).
 * Values are joined as they are: no string an element in between (a poll's biggest garbage).
 */
export function arrayLiteral<T>(items: readonly T[], quote: boolean, valueOf: (item: T) => unknown = (item) => item): string {
  const values: unknown[] = new Array(items.length);
  let joinable = true;
  for (let i = 0; i < items.length; i++) {
    const v = valueOf(items[i]!);
    if (v === null || v === undefined) {
      values[i] = quote ? null : 'NULL';
      joinable &&= !quote;
    } else {
      values[i] = v;
      if (quote && typeof v === 'string' && (v.includes('"') || v.includes('\\'))) joinable = false;
    }
  }
  if (!quote) return `{${values.join(',')}}`;
  if (joinable) return `{"${values.join('","')}"}`;
  return `{${values.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

export interface BulkColumn<T> {
  name: string;
  /** The column's PostgreSQL type, for its unnest array. */
  pgType: 'bigint' | 'integer' | 'text' | 'double precision';
  /** The column's value for one item. */
  value: (item: T) => unknown;
}

/** From this many rows COPY beats one INSERT of unnest arrays (a poll's 100k readings: 1.07 s -> 0.83 s, profiled). */
const COPY_FROM_ROWS = 1_000;

/** The pool behind a store's adapter (a transaction shares its store's), and its clients by backend. */
const poolByAdapter = new WeakMap<object, { pool: pg.Pool; clients: Map<number, pg.PoolClient> }>();

/** PostgreSQL as Kysely speaks it, plus what COPY needs: the pool's clients by backend process id. */
class PostgresStoreDialect extends PostgresDialect {
  constructor(private readonly pool: pg.Pool) {
    super({ pool, cursor: Cursor });
  }

  override createAdapter() {
    const adapter = super.createAdapter();
    const clients = new Map<number, pg.PoolClient>();
    this.pool.on('connect', (client) => clients.set((client as unknown as { processID: number }).processID, client as pg.PoolClient));
    this.pool.on('remove', (client) => clients.delete((client as unknown as { processID: number }).processID));
    poolByAdapter.set(adapter, { pool: this.pool, clients });
    return adapter;
  }
}

/**
 * An item as one line of COPY's text format, the columns in order, ending in a newline: a table
 * of numbers only writes its rows as one template each instead of a call and a join a column.
 */
export type CopyLine<T> = (item: T) => string;

/**
 * Rows by COPY on the connection `db` runs on, inside its transaction if it is one. Kysely hands
 * out no driver client: the connection names its backend, and the pool's client with that
 * backend takes the COPY (no statement of the caller's runs meanwhile: it awaits this). False,
 * nothing done, when no such client is known.
 */
async function copyRows<T>(db: Kysely<any>, table: string, columns: BulkColumn<T>[], items: readonly T[], copyLine?: CopyLine<T>): Promise<boolean> {
  const known = poolByAdapter.get(db.getExecutor().adapter);
  if (!known) return false;
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const client = known.clients.get(rows[0]!.pid);
  if (!client) return false;
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  const lines = (function* () {
    const values: unknown[] = new Array(columns.length);
    let chunk = '';
    for (let i = 0; i < items.length; i++) {
      if (copyLine) chunk += copyLine(items[i]!);
      else {
        for (let c = 0; c < columns.length; c++) values[c] = copyText(columns[c]!.value(items[i]!));
        chunk += values.join('\t') + '\n';
      }
      if (chunk.length > 1 << 16) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  })();
  await pipeline(Readable.from(lines), client.query(copyStreams.from(`copy ${table} (${names}) from stdin`)));
  return true;
}

/** A value in COPY's text format: NULL as \N, text with its backslash, tab and newline escaped. */
function copyText(v: unknown): unknown {
  if (v === null || v === undefined) return '\\N';
  return typeof v === 'string' ? v.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]!) : v;
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * Inserts one row an item, inside the caller's transaction: on PostgreSQL by COPY from
 * COPY_FROM_ROWS rows on, else in one statement (unnest of one array a column, which also takes
 * an ON CONFLICT clause); on SQLite in as few statements as it allows. `conflict` is an ON
 * CONFLICT clause; both engines read it the same way.
 */
export async function bulkInsert<T>(db: Kysely<any>, table: string, columns: BulkColumn<T>[], items: readonly T[], conflict = '', copyLine?: CopyLine<T>): Promise<void> {
  if (items.length === 0) return;
  const names = sql.join(columns.map((c) => sql.ref(c.name)));
  if (isPostgres(db)) {
    if (!conflict && items.length >= COPY_FROM_ROWS && (await copyRows(db, table, columns, items, copyLine))) return;
    const arrays = columns.map((c) => sql`${arrayLiteral(items, c.pgType === 'text', c.value)}::${sql.raw(c.pgType)}[]`);
    await sql`insert into ${sql.table(table)} (${names}) select * from unnest(${sql.join(arrays)}) ${sql.raw(conflict)}`.execute(db);
    return;
  }
  const perStatement = Math.floor(30_000 / columns.length);
  for (let i = 0; i < items.length; i += perStatement) {
    const values = sql.join(items.slice(i, i + perStatement).map((item) => sql`(${sql.join(columns.map((c) => c.value(item)))})`));
    await sql`insert into ${sql.table(table)} (${names}) values ${values} ${sql.raw(conflict)}`.execute(db);
  }
}

/**
 * The rows of a select in the query's order, a chunk at a time, never all of them at once: a
 * report of a whole fleet's day streams through here. PostgreSQL reads through a cursor on a
 * client of its own; SQLite iterates on a read-only connection of its own (WAL lets it read
 * beside the writer), because Kysely's SQLite stream would hold the process's one connection for
 * as long as the slowest client takes to read. A failure mid-way throws from the iteration.
 */
export async function* streamRows<R>(connection: EngineConnection, query: Compilable<R>, chunkSize = 2000): AsyncGenerator<R[]> {
  const { sql: text, parameters } = query.compile();
  if (connection.engine === 'postgres') {
    const client = await connection.pool!.connect();
    // A client out of the pool has no listener for its connection's errors (the pool listens to
    // idle ones only): a server that goes away would otherwise be an uncaught exception. The
    // failure reaches the reader through the cursor.
    const ignore = () => {};
    client.on('error', ignore);
    // A cursor is planned for its first tenth of rows by default: for a report of a whole day that
    // is an index walk with a lookup a row (48.9 s for 2.4M rows, measured), where reading every
    // row wants the plan COPY gets, one sort (6.7 s). The setting goes back with the client.
    await client.query('set cursor_tuple_fraction = 1');
    const cursor = client.query(new Cursor(text, parameters as unknown[]));
    let failed = false;
    try {
      for (;;) {
        const rows = (await cursor.read(chunkSize)) as R[];
        if (rows.length === 0) return;
        yield rows;
      }
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      // A cursor on a failed connection never answers its close: the client is thrown away instead.
      if (!failed) await cursor.close().then(() => client.query('reset cursor_tuple_fraction')).catch(() => {});
      // A failed client is thrown away and may still report its end: it keeps the listener.
      if (!failed) client.off('error', ignore);
      client.release(failed);
    }
  }
  const reader = connection.location === ':memory:' ? connection.sqlite! : new SqliteDatabase(connection.location, { readonly: true, fileMustExist: true });
  try {
    reader.defaultSafeIntegers(true);
    let rows: R[] = [];
    for (const row of reader.prepare(text).iterate(...(parameters as unknown[]))) {
      rows.push(row as R);
      if (rows.length === chunkSize) {
        yield rows;
        rows = [];
      }
    }
    if (rows.length) yield rows;
  } finally {
    if (reader !== connection.sqlite) reader.close();
  }
}
