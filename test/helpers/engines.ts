// The two store engines every contract test runs against. PostgreSQL gets a fresh database per
// suite; when it cannot be reached the suite is skipped with the reason printed, except in CI
// (REQUIRE_POSTGRES=1), where that is a failure.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.LBMETER_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface EngineFixture {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store location (file path or URL). */
  create(): Promise<string>;
  /** Drops everything create() made. */
  cleanup(): Promise<void>;
}

let postgresReachable: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL answers; otherwise why not. */
export function postgresProblem(): Promise<string | undefined> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL at ${POSTGRES_ADMIN_URL} is not reachable: ${(err as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresReachable;
}

function sqliteFixture(): EngineFixture {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'lbmeter-test-'));
      dirs.push(dir);
      return join(dir, 'lbmeter.db');
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

function postgresFixture(): EngineFixture {
  const names: string[] = [];
  const admin = () => new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  return {
    name: 'postgres',
    async create() {
      const name = `lbmeter_test_${randomBytes(6).toString('hex')}`;
      const client = admin();
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      names.push(name);
      const url = new URL(POSTGRES_ADMIN_URL);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async cleanup() {
      const client = admin();
      await client.connect();
      try {
        for (const name of names.splice(0)) await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The engines to run a suite on, with a reason for each skipped one. In CI a missing PostgreSQL
 * throws instead.
 */
export async function engines(): Promise<{ fixture: EngineFixture; skip?: string }[]> {
  const problem = await postgresProblem();
  if (problem && process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but ${problem}`);
  if (problem) console.log(`# skipping PostgreSQL: ${problem}`);
  return [{ fixture: sqliteFixture() }, { fixture: postgresFixture(), skip: problem }];
}
