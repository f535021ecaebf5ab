// Restoring the embedded store from a backup without corrupting it (docs/operations.md, Backup and
// restore). A copy put in place beside the old store's write-ahead log is replayed over by SQLite at
// the next open (the log's frames are not tied to the file they came from): `database disk image
// is malformed` after a crash. So the old store is set aside whole (its log checkpointed into it),
// the copy is checked before and after, and no process may hold the store meanwhile.

import { copyFileSync, existsSync, renameSync, rmSync, statSync, chownSync, chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { knownMigrations } from './migrations/index.ts';

export class RestoreRefused extends Error {}

export interface StoreFileCheck {
  /** The migrations the file's store has run. */
  migrations: string[];
  records: number;
}

/**
 * Checks that `file` is a whole lbmeter store this version can run: SQLite's integrity check, its
 * migrations known here. Opens the file itself: pass a copy, not a store a process runs on.
 * `name`: the file as the operator knows it, for the reasons.
 */
export function checkStoreFile(file: string, name = file): StoreFileCheck {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 0 });
  } catch (err) {
    throw new RestoreRefused(`${name} cannot be opened as SQLite: ${(err as Error).message}`);
  }
  try {
    let problems: string[];
    try {
      problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    } catch (err) {
      throw new RestoreRefused(`${name} fails SQLite's integrity check: ${(err as Error).message}`);
    }
    if (problems.length !== 1 || problems[0] !== 'ok') throw new RestoreRefused(`${name} fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`);
    const hasMigrations = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'").get();
    if (!hasMigrations) throw new RestoreRefused(`${name} is SQLite but not an lbmeter store (no migrations in it)`);
    const migrations = (db.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((r) => r.name);
    const unknown = migrations.filter((m) => !knownMigrations().includes(m));
    if (unknown.length) throw new RestoreRefused(`${name} was migrated by a newer lbmeter (it has run ${unknown.at(-1)}): restore it with that version`);
    const { n } = db.prepare('select count(*) as n from usage_records').get() as { n: number };
    return { migrations, records: n };
  } finally {
    db.close();
  }
}

export interface RestoreResult extends StoreFileCheck {
  /** Where the store that was in place now is (with every page of its log in it). */
  setAside?: string;
}

/**
 * Puts the backup `file` in place as the store at `target`: refused while a process holds the
 * target or when the copy is not a whole store; the old store is set aside, never deleted.
 */
export function restoreSqliteStore(file: string, target: string, nowMs = Date.now()): RestoreResult {
  if (!existsSync(file)) throw new RestoreRefused(`no backup at ${file}`);
  if (nonEmpty(`${file}-wal`)) {
    throw new RestoreRefused(`${file} has a write-ahead log beside it (${file}-wal): it was copied from a running store; restore a copy made by lbmeter backup`);
  }
  const staging = `${target}.restoring`;
  removeWithSidecars(staging);
  copyFileSync(file, staging);
  let setAside: string | undefined;
  try {
    checkStoreFile(staging, file);
    setAside = existsSync(target) ? setAsideStore(target, nowMs) : undefined;
  } catch (err) {
    removeWithSidecars(staging);
    throw err;
  }
  if (setAside) copyOwnership(setAside, staging);
  renameSync(staging, target);
  // A log or index beside the staging copy (checkStoreFile's own) belongs to it: none is left.
  removeSidecars(staging);
  return { ...checkStoreFile(target), ...(setAside ? { setAside } : {}) };
}

/**
 * Moves the store at `target` aside as `target.replaced-<time>`, its log with it (or checkpointed
 * into it). Its exclusive lock is taken first: any process that has the store open refuses it.
 */
function setAsideStore(target: string, nowMs: number): string {
  const db = new Database(target, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      db.close();
      throw new RestoreRefused(`a process holds the store ${target} (serve, or another lbmeter command): stop it first (systemctl stop lbmeter)`);
    }
    // A store too damaged to lock is set aside as it is, its log beside it.
  }
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // Damaged: its log stays beside it, under its new name.
  }
  db.close();
  const aside = `${target}.replaced-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`;
  renameSync(target, aside);
  for (const suffix of SIDECARS) if (existsSync(`${target}${suffix}`)) renameSync(`${target}${suffix}`, `${aside}${suffix}`);
  return aside;
}

const SIDECARS = ['-wal', '-shm', '-journal'];

function removeSidecars(path: string): void {
  for (const suffix of SIDECARS) rmSync(`${path}${suffix}`, { force: true });
}

function removeWithSidecars(path: string): void {
  rmSync(path, { force: true });
  removeSidecars(path);
}

function nonEmpty(path: string): boolean {
  return existsSync(path) && statSync(path).size > 0;
}

/** The restored store keeps the owner and mode of the one it replaces (restored as root for the service user). */
function copyOwnership(from: string, to: string): void {
  const { uid, gid, mode } = statSync(from);
  chmodSync(to, mode & 0o777);
  try {
    chownSync(to, uid, gid);
  } catch {
    // Not root: the file is the restoring user's, as the store was (or the chown would have been needed).
  }
}
