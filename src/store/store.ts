// The store: one Kysely instance over either engine, migrated at open.

import { Kysely, sql, type Transaction } from 'kysely';
import { connect, dialectFor, type Engine, type EngineConnection } from './dialect/index.ts';
import { migrate } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

export interface Store {
  readonly engine: Engine;
  readonly db: Kysely<Database>;
  readonly connection: EngineConnection;
  /** Runs fn in one transaction; all of it lands or none of it. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `migrate`: false leaves the schema as found; a migration's name migrates up to it (tests of a migration). */
export async function openStore(location: string, options: { migrate?: boolean | string } = {}): Promise<Store> {
  const connection = connect(location);
  const db = new Kysely<Database>({ dialect: connection.dialect });
  const store: Store = {
    engine: connection.engine,
    db,
    connection,
    transaction: (fn) => db.transaction().execute(fn),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      dialectFor(connection.engine).release(connection);
      await db.destroy();
    },
  };
  if (options.migrate !== false) {
    try {
      await migrate(db, typeof options.migrate === 'string' ? options.migrate : undefined);
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  return store;
}

/** Splits rows for multi-row statements (SQLite allows 32766 bound values a statement). */
export function chunks<T>(rows: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** A store location without its password, fit for a message or a log. */
export function shownLocation(location: string): string {
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    return url.protocol.startsWith('postgres') ? url.toString() : location;
  } catch {
    return location;
  }
}

/** Why a store could not be opened, in one line that names it (its password masked). */
export function unusableStore(location: string, err: Error): string {
  return `the store at ${shownLocation(location)} is not usable: ${err.message.split('\n')[0]}`;
}
