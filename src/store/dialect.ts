// Everything that differs between the two engines lives here: how to connect, the identity
// column, and which driver errors mean "the store is unreachable".

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { PostgresDialect, SqliteDialect, sql, type ColumnDefinitionBuilder, type Dialect, type Kysely } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

export interface EngineConnection {
  engine: Engine;
  dialect: Dialect;
  /** Set when the engine is PostgreSQL, for COPY and raw driver access. */
  pool?: pg.Pool;
  /** Set when the engine is SQLite. */
  sqlite?: SqliteDatabase.Database;
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
      // int8 columns (bytes, epoch ms) come back exact, as bigint.
      types: { getTypeParser: (oid: number, format?: any) => (oid === 20 ? BigInt : pg.types.getTypeParser(oid, format)) } as any,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    return { engine: 'postgres', dialect: new PostgresDialect({ pool }), pool };
  }
  if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
  const sqlite = new SqliteDatabase(location);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Every integer comes back as bigint: byte counters are exact up to 2^63.
  sqlite.defaultSafeIntegers(true);
  return { engine: 'sqlite', dialect: new SqliteDialect({ database: sqlite }), sqlite };
}

export function identityColumn(engine: Engine) {
  return engine === 'postgres'
    ? { type: 'bigint' as const, build: (c: ColumnDefinitionBuilder) => c.primaryKey().generatedByDefaultAsIdentity() }
    : { type: 'integer' as const, build: (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement() };
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
export async function lockHostCounters(db: Kysely<any>, engine: Engine, hostId: number): Promise<void> {
  if (engine === 'postgres') await sql`select pg_advisory_xact_lock(${hostId}::bigint)`.execute(db);
}
