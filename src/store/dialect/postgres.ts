// PostgreSQL: a pool of pg clients; transaction-scoped advisory locks; id lists as one array
// parameter; bulk rows by COPY on the transaction's own client; reports and pages read through COPY TO STDOUT.

import pg from 'pg';
import Cursor from 'pg-cursor';
import copyStreams from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PostgresDialect, sql, type Compilable, type ExpressionBuilder, type Kysely } from 'kysely';
import type { BulkColumn, EngineConnection, LockMode, StoreDialect } from './dialect.ts';
import { copyTextChunks } from './copyText.ts';
import { copyOutRows } from './copyOut.ts';

/** Up to 15 digits always fit a double exactly (2^53 has 16). */
function parseInt8(text: string): number | bigint {
  return text.length <= 15 ? Number(text) : BigInt(text);
}

/** How a column's text becomes a value, by its type, for the driver and for COPY's rows alike. */
function typeParser(oid: number): (text: string) => unknown {
  return oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, 'text');
}

/** The pool behind a store's adapter (a transaction shares its store's): its clients by backend process id. */
const clientsByAdapter = new WeakMap<object, Map<number, pg.PoolClient>>();

/** PostgreSQL as Kysely speaks it, plus what COPY needs: the pool's clients by backend process id. */
class PostgresStoreDialect extends PostgresDialect {
  constructor(private readonly pool: pg.Pool) {
    super({ pool, cursor: Cursor });
  }

  override createAdapter() {
    const adapter = super.createAdapter();
    const clients = new Map<number, pg.PoolClient>();
    const pidOf = (client: unknown) => (client as { processID: number }).processID;
    this.pool.on('connect', (client) => clients.set(pidOf(client), client as pg.PoolClient));
    this.pool.on('remove', (client) => clients.delete(pidOf(client)));
    clientsByAdapter.set(adapter, clients);
    return adapter;
  }
}

/** Advisory lock classes (the two-key form, apart from the host locks' one-key form). */
const LOCK_CLASS = { eventIntake: 1, hour: 2 } as const;

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/** From this many rows COPY beats one INSERT of unnest arrays (a poll's 100k readings: 1.07 s -> 0.83 s, profiled). */
const COPY_FROM_ROWS = 1_000;

export const postgresDialect: StoreDialect = {
  engine: 'postgres',
  partitionsByDay: true,

  connect(location: string): EngineConnection {
    const pool = new pg.Pool({
      connectionString: location,
      max: 10,
      connectionTimeoutMillis: 5_000,
      // int8 columns (bytes, epoch ms, ids) come back exact: a number while a double holds them
      // exactly, a bigint beyond (readers convert with rows.ts). Most values are small, and a
      // page of 1000 records would otherwise make 12 000 bigints.
      types: { getTypeParser: (oid: number, format?: any) => (format === 'binary' ? pg.types.getTypeParser(oid, format) : typeParser(oid)) } as any,
    });
    // A client losing its server must not crash the process; its next query reports it. The pool
    // listens to idle clients only: one checked out (a transaction between two statements, a
    // streamed report) would otherwise raise an uncaught 'error' when its connection is cut (a
    // store outage in the soak took an API process down that way).
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return { engine: 'postgres', location, dialect: new PostgresStoreDialect(pool), pool };
  },

  identityColumn: () => ({ type: 'bigint', build: (c) => c.primaryKey().generatedByDefaultAsIdentity() }),
  binaryColumnType: () => 'bytea',

  isOverflow: (e) => e.code === '22003',

  isUnavailable(e) {
    if (e.code && (UNREACHABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
    return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Cannot use a pool after calling end/i.test(e.message ?? '');
  },

  async lockHostCounters(db, hostId) {
    await sql`select pg_advisory_xact_lock(${hostId}::bigint)`.execute(db);
  },

  async lockHours(db, hourMs, mode: LockMode) {
    if (hourMs.length === 0) return;
    // In ascending order, so two transactions taking several hours cannot deadlock.
    const keys = [...new Set(hourMs.map((h) => Math.floor(h / 3_600_000)))].sort((a, b) => a - b);
    const fn = sql.raw(mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock');
    await sql`select ${fn}(${LOCK_CLASS.hour}, k::int) from unnest(${arrayLiteral(keys, false)}::bigint[]) as k`.execute(db);
  },

  async clockMs(db) {
    const r = await sql<{ ms: number }>`select extract(epoch from clock_timestamp())::float8 * 1000 as ms`.execute(db);
    return Number(r.rows[0]!.ms);
  },

  async lockEventIntake(db) {
    await sql`select pg_advisory_xact_lock(${LOCK_CLASS.eventIntake}, 0)`.execute(db);
  },

  idBatches: (ids) => (ids.length ? [ids] : []),
  idIn: (column, ids) => (eb: ExpressionBuilder<any, any>) => eb(column, '=', sql<number>`any(${arrayLiteral(ids, false)}::bigint[])`),

  async bulkInsert(db, table, columns, items, conflict = '') {
    if (items.length === 0) return;
    if (!conflict && items.length >= COPY_FROM_ROWS) return copyRows(db, table, columns, items);
    const names = sql.join(columns.map((c) => sql.ref(c.name)));
    const arrays = columns.map((c) => sql`${arrayLiteral(items, c.pgType === 'text', c.value)}::${sql.raw(c.pgType)}[]`);
    await sql`insert into ${sql.table(table)} (${names}) select * from unnest(${sql.join(arrays)}) ${sql.raw(conflict)}`.execute(db);
  },

  streamRows,

  // Through COPY like a report (streamRows below), on a pooled client outside any transaction:
  // committed rows only. A page of 1000 records: the driver's row protocol makes 16 000 strings
  // (3.4 ms of a 4.5 ms query, profiled); COPY's lines are read here from the bytes.
  async selectRows(connection, query) {
    const rows: unknown[][] = [];
    for await (const batch of streamRows(connection, query as Compilable<unknown[]>, Number.MAX_SAFE_INTEGER, true)) rows.push(...batch);
    return rows;
  },

  // The pool is ended with the query builder.
  release: () => {},
};

/**
 * COPY on the connection `db` runs on, inside its transaction if it is one. Kysely hands out no
 * driver client: the connection names its backend, and the pool's client with that backend
 * takes the COPY (no statement of the caller's runs meanwhile: it awaits this).
 */
async function copyRows<T>(db: Kysely<any>, table: string, columns: BulkColumn<T>[], items: readonly T[]): Promise<void> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const client = clientsByAdapter.get(db.getExecutor().adapter)?.get(rows[0]!.pid);
  if (!client) throw new Error(`no client of this store has backend ${rows[0]!.pid}`);
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  await pipeline(Readable.from(copyTextChunks(columns, items)), client.query(copyStreams.from(`copy ${table} (${names}) from stdin`)));
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

/**
 * Through `COPY (select) TO STDOUT` on a client of its own (store/dialect/copyOut.ts): the plan
 * COPY gets is the one for reading every row (a cursor is planned for its first tenth of rows by
 * default: for a whole day, an index walk with a lookup a row, 48.9 s for 2.4M rows where one
 * sort took 6.7 s), and the rows come as text lines read here without a string a field (the
 * driver's row protocol, fetched 200 rows at a time, took 9 s of a billing day; this, 5 s). A
 * reader that stops early throws the connection away: it is still sending the rest.
 */
async function* streamRows<R>(connection: EngineConnection, query: Compilable<R>, chunkSize: number, arrays = false): AsyncGenerator<R[]> {
  const { sql: text, parameters } = query.compile();
  // Its connection's errors have a listener from the pool's connect (see connect above): the
  // failure reaches the reader through the stream.
  const client = await connection.pool!.connect();
  let finished = false;
  try {
    yield* copyOutRows(client, text, parameters, chunkSize, typeParser, arrays) as AsyncGenerator<R[]>;
    finished = true;
  } finally {
    // A failed client, or one still sending rows nobody reads, is thrown away.
    client.release(!finished);
  }
}
