// Versioned migrations, run by Kysely's Migrator at start. Append new files; never edit old ones.

import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { VERSION, buildCommit } from '../../version.ts';
import { dialectOf, type StoreDialect } from '../dialect/index.ts';
import * as initial from './001_initial.ts';
import * as leases from './002_leases.ts';
import * as anomalyAmounts from './003_anomaly_amounts.ts';
import * as exportState from './004_export_state.ts';
import * as dayPartitions from './005_day_partitions.ts';
import * as baselineFillfactor from './006_baseline_fillfactor.ts';
import * as readingFacts from './007_reading_facts.ts';
import * as storeRevision from './008_store_revision.ts';
import * as leaseTokens from './009_lease_tokens.ts';
import * as readingHours from './010_reading_hours.ts';
import * as packedBaselines from './011_packed_baselines.ts';
import * as baselineCompression from './012_baseline_compression.ts';
import * as recordIds from './013_record_ids.ts';
import * as ruleVersions from './014_rule_versions.ts';
import * as exportRevisions from './015_export_revisions.ts';
import * as storeMigrators from './016_store_migrators.ts';
import * as factChanges from './017_fact_changes.ts';
import * as readingReadStamps from './018_reading_read_stamps.ts';

/** A migration sees the engine's dialect: its column types and what the engine has (partitions). */
type EngineMigration = { up(db: Kysely<any>, dialect: StoreDialect): Promise<void> };

const MIGRATIONS: Record<string, EngineMigration> = {
  '001_initial': initial,
  '002_leases': leases,
  '003_anomaly_amounts': anomalyAmounts,
  '004_export_state': exportState,
  '005_day_partitions': dayPartitions,
  '006_baseline_fillfactor': baselineFillfactor,
  '007_reading_facts': readingFacts,
  '008_store_revision': storeRevision,
  '009_lease_tokens': leaseTokens,
  '010_reading_hours': readingHours,
  '011_packed_baselines': packedBaselines,
  '012_baseline_compression': baselineCompression,
  '013_record_ids': recordIds,
  '014_rule_versions': ruleVersions,
  '015_export_revisions': exportRevisions,
  '016_store_migrators': storeMigrators,
  '017_fact_changes': factChanges,
  '018_reading_read_stamps': readingReadStamps,
};

/** The migrations this lbmeter knows, oldest first. */
export const knownMigrations = (): string[] => Object.keys(MIGRATIONS);

/** A store a newer lbmeter migrated: this one does not know its schema and must not touch it. */
export class StoreTooNew extends Error {}

/** The migrations a store has run, oldest first (none on a new store). */
async function executedMigrations(db: Kysely<any>): Promise<string[]> {
  try {
    const r = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    return r.rows.map((row) => row.name);
  } catch {
    return []; // no migration table yet: a new store
  }
}

/** The lbmeter that last applied migrations to the store, as `--version` names it (undefined before 016). */
async function newestMigrator(db: Kysely<any>): Promise<string | undefined> {
  try {
    const r = await sql<{ version: string }>`select version from store_migrators order by migrated_ms desc limit 1`.execute(db);
    return r.rows[0]?.version;
  } catch {
    return undefined;
  }
}

/** Runs the migrations not run yet, up to `target` (a migration's name; default: all); returns those it ran. */
export async function migrate(db: Kysely<any>, target?: string): Promise<string[]> {
  const unknown = (await executedMigrations(db)).filter((name) => !(name in MIGRATIONS));
  if (unknown.length) {
    const known = Object.keys(MIGRATIONS).at(-1);
    const by = await newestMigrator(db);
    throw new StoreTooNew(`this store was migrated by ${by ? `lbmeter ${by}` : 'a newer lbmeter'} (it has run ${unknown.at(-1)}); this is lbmeter ${VERSION} (commit ${buildCommit()}), which knows up to ${known}: run the newer lbmeter, or restore a backup taken before its upgrade`);
  }
  const dialect = dialectOf(db);
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (d) => m.up(d, dialect) };
      return out;
    },
  };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await (target ? migrator.migrateTo(target) : migrator.migrateToLatest());
  if (error) throw error;
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.length && (await executedMigrations(db)).includes('016_store_migrators')) {
    await sql`insert into store_migrators (version, migrated_ms) values (${`${VERSION} (commit ${buildCommit()})`}, ${Date.now()}) on conflict (version) do nothing`.execute(db);
  }
  return applied;
}
