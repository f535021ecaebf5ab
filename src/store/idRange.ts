// A contiguous run of load balancer ids, either end open: how the rollup takes a fleet's hour a
// slice at a time (usage/hourRollup.ts rollFleetHour), each query of a slice bounded by the
// (load_balancer_id, ...) indexes instead of a list of ids.

export interface IdRange {
  /** The first id in the range; none: from the lowest. */
  from?: number;
  /** The first id past the range; none: through the highest. */
  below?: number;
}

/** `query` narrowed to `column` in `range` (a query builder's where, for any select or delete). */
export function inIdRange<Q extends { where: (...args: any[]) => any }>(query: Q, column: string, range: IdRange | undefined): Q {
  let q = query;
  if (range?.from !== undefined) q = q.where(column, '>=', range.from);
  if (range?.below !== undefined) q = q.where(column, '<', range.below);
  return q;
}

/**
 * The ranges that start at these ids (ascending) and together cover every id: the first from the
 * lowest, the last through the highest, so an id between or outside them is in one range exactly.
 */
export function rangesStartingAt(starts: number[]): IdRange[] {
  return [undefined, ...starts].map((from, i) => ({ ...(from !== undefined ? { from } : {}), ...(i < starts.length ? { below: starts[i] } : {}) }));
}
