// What this process remembers about a store (partitions it made, baselines it last saw), kept
// per store and shared by its transactions: they all run on the store's one Kysely adapter.

import type { Kysely } from 'kysely';

/** A value made once per store on first use; `of(db)` finds it from the store or any of its transactions. */
export function perStore<T>(make: () => T): (db: Kysely<any>) => T {
  const byAdapter = new WeakMap<object, T>();
  return (db) => {
    const key = db.getExecutor().adapter;
    let value = byAdapter.get(key);
    if (value === undefined) byAdapter.set(key, (value = make()));
    return value;
  };
}
