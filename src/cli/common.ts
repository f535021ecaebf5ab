// What every `lbmeter` command shares: its argument parsers, the configuration, the store it
// opens, how its failures read (one line, `lbmeter: ` first, exit code 2 for a bad request, 1
// for anything else) and how listings print (tab-separated lines, or JSON with --json).

import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { openStore, unusableStore, type Store } from '../store/store.ts';
import { engineOf } from '../store/dialect/index.ts';
import { parseTime } from '../domain/time.ts';
import { exactJson } from '../domain/exactJson.ts';

/** The command was asked for something it cannot do as asked: one line, exit code 2. */
export class UsageError extends Error {}
/** What the command was asked about does not exist: one line, exit code 1. */
export class NotFound extends Error {}

export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(value)) throw new InvalidArgumentError('expected a positive whole number');
  return Number(value);
}

/** A repeatable whole-number option or argument. */
export function ids(value: string, previous: number[] = []): number[] {
  return [...previous, positiveInt(value)];
}

/** A repeatable usage record name, LOADBALANCER/ID: a record id is unique within its load balancer. */
export function recordNames(value: string, previous: { loadBalancerId: number; id: number }[] = []): { loadBalancerId: number; id: number }[] {
  const m = /^([^/]+)\/([^/]+)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected LOADBALANCER/ID, for example 33/119003281');
  return [...previous, { loadBalancerId: positiveInt(m[1]!), id: positiveInt(m[2]!) }];
}

export function isoTime(value: string): number {
  const parsed = parseTime(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.reason);
  return parsed.ms;
}

export function config(): Config {
  return loadConfig(process.env);
}

/**
 * Runs fn on the configured store. Only `migrate` (and serve) make a store that is not there:
 * any other command on a missing SQLite file would leave an empty store behind (a token in it
 * that no server knows, say), so it stops with one line instead. A store that cannot be opened
 * is named in the message (its password masked).
 */
export async function withStore<T>(fn: (store: Store, config: Config) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
  const c = config();
  if (!options.create && engineOf(c.db) === 'sqlite' && c.db !== ':memory:' && !existsSync(c.db)) {
    throw new UsageError(`no store at ${c.db}: check LBMETER_DB (on a server: lbmeter --env-file /etc/lbmeter/lbmeter.env ...), or make one with lbmeter migrate`);
  }
  const store = await openStore(c.db).catch((err: Error) => {
    throw new Error(unusableStore(c.db, err), { cause: err });
  });
  try {
    return await fn(store, c);
  } finally {
    await store.close();
  }
}

/** A listing: one tab-separated line a row, or with --json one JSON array of the rows (exact integers). */
export function printRows<T>(rows: T[], json: boolean | undefined, line: (row: T) => (string | number)[], asJson: (row: T) => unknown = (row) => row): void {
  if (json) process.stdout.write(exactJson(rows.map(asJson)) + '\n');
  else for (const row of rows) console.log(line(row).join('\t'));
}
