// SQLite (better-sqlite3): one file in WAL mode; writers are serialized by the database's single
// write lock, so the locks other engines take are no-ops here (each transaction's first
// statement is a write, which takes it); a statement binds at most 32766 values.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { SqliteDialect, sql, type Compilable, type Kysely } from 'kysely';
import type { BulkColumn, EngineConnection, RowsQuery, StoreDialect } from './dialect.ts';

const UNREACHABLE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_FULL']);

/** Ids a statement: SQLite binds at most 32766 values. */
const IDS_PER_STATEMENT = 10_000;
const VALUES_PER_STATEMENT = 30_000;

export const sqliteDialect: StoreDialect = {
  engine: 'sqlite',
  partitionsByDay: false,

  connect(location: string): EngineConnection {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    const sqlite = new SqliteDatabase(location);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    // Every integer comes back as bigint: byte counters are exact up to 2^63.
    sqlite.defaultSafeIntegers(true);
    return { engine: 'sqlite', location, dialect: new SqliteDialect({ database: sqlite }), sqlite };
  },

  identityColumn: () => ({ type: 'integer', build: (c) => c.primaryKey().autoIncrement() }),
  binaryColumnType: () => 'blob',

  isOverflow: (e) => /integer overflow/i.test(e.message ?? ''),

  isUnavailable(e) {
    if (e.code && (UNREACHABLE_CODES.has(e.code) || e.code.startsWith('SQLITE_IOERR'))) return true;
    return /database connection is not open/i.test(e.message ?? '');
  },

  lockHostCounters: async () => {},
  lockHours: async () => {},
  lockEventIntake: async () => {},
  // The file is on this machine: its clock is this process's (SQLite reads the system's).
  clockMs: async () => Date.now(),

  idBatches(ids) {
    const out: number[][] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) out.push(ids.slice(i, i + IDS_PER_STATEMENT));
    return out;
  },
  idIn: (column, ids) => (eb) => eb(column, 'in', ids),

  bulkInsert,

  // SQLite's online backup: page by page from a snapshot, other connections writing meanwhile
  // (a plain copy of the file while serve writes can miss the WAL's pages, or tear).
  async backup(connection, file) {
    const { totalPages } = await connection.sqlite!.backup(file);
    return { pages: totalPages };
  },

  streamRows,
  selectRows,

  release(connection) {
    readers.get(connection)?.database.close();
    readers.delete(connection);
  },
};

/** A read-only connection beside the store's own (WAL lets it read while the other writes). */
function openReader(location: string): SqliteDatabase.Database {
  const reader = new SqliteDatabase(location, { readonly: true, fileMustExist: true });
  reader.defaultSafeIntegers(true);
  return reader;
}

/** Each store's reader for selectRows, opened at its first use, with its prepared statements by SQL (preparing costs more than a short page). */
const readers = new WeakMap<EngineConnection, { database: SqliteDatabase.Database; statements: Map<string, SqliteDatabase.Statement> }>();
const READER_STATEMENTS = 64;

/**
 * On a read-only connection of the store's own (opened once): the query builder's connection may
 * be inside a transaction between two of its statements, whose rows a read there would see.
 * An in-memory store has no file to open twice: its reads wait for the query builder's
 * connection instead, and become arrays here.
 */
async function selectRows(connection: EngineConnection, query: RowsQuery): Promise<unknown[][]> {
  if (connection.location === ':memory:') return (await query.execute()).map((row) => Object.values(row));
  const compiled = query.compile();
  let reader = readers.get(connection);
  if (!reader) readers.set(connection, (reader = { database: openReader(connection.location), statements: new Map() }));
  let statement = reader.statements.get(compiled.sql);
  if (!statement) {
    if (reader.statements.size >= READER_STATEMENTS) reader.statements.clear();
    statement = reader.database.prepare(compiled.sql).raw(true);
    reader.statements.set(compiled.sql, statement);
  }
  return statement.all(...(compiled.parameters as unknown[])) as unknown[][];
}

async function bulkInsert<T>(db: Kysely<any>, table: string, columns: BulkColumn<T>[], items: readonly T[], conflict = ''): Promise<void> {
  const names = sql.join(columns.map((c) => sql.ref(c.name)));
  const perStatement = Math.floor(VALUES_PER_STATEMENT / columns.length);
  for (let i = 0; i < items.length; i += perStatement) {
    const values = sql.join(items.slice(i, i + perStatement).map((item) => sql`(${sql.join(columns.map((c) => c.value(item)))})`));
    await sql`insert into ${sql.table(table)} (${names}) values ${values} ${sql.raw(conflict)}`.execute(db);
  }
}

/**
 * On a read-only connection of its own (WAL lets it read beside the writer): Kysely's SQLite
 * stream would hold the process's one connection for as long as the slowest client takes to read.
 */
async function* streamRows<R>(connection: EngineConnection, query: Compilable<R>, chunkSize: number, arrays = false): AsyncGenerator<R[]> {
  const { sql: text, parameters } = query.compile();
  // Both give every integer as a bigint: connect and openReader set it.
  const reader = connection.location === ':memory:' ? connection.sqlite! : openReader(connection.location);
  try {
    let rows: R[] = [];
    for (const row of reader.prepare(text).raw(arrays).iterate(...(parameters as unknown[]))) {
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
