// An ordered stream of rows read one at a time with a look at the current one: what merging two
// ordered streams (records and snapshots, both by account) needs. The store is asked only when
// the rows it sent are used up; a row already read is looked at without a promise (a promise a
// look, three a record, were a third of a billing day's allocations, profiled).

export class RowCursor<T> {
  private batch: T[] = [];
  private at = 0;
  private done = false;

  /** `map`: what each row becomes; without it, rows are used as the store gave them. */
  constructor(private readonly batches: AsyncGenerator<unknown[]>, private readonly map?: (row: any) => T) {}

  /** A row is at the cursor without asking the store. */
  get buffered(): boolean {
    return this.at < this.batch.length;
  }

  /** The row at the cursor: only once `buffered` is true, or `ready()` answered true. */
  get row(): T {
    return this.batch[this.at]!;
  }

  /** Asks the store for more rows when those read are used up: true when a row is at the cursor. */
  async ready(): Promise<boolean> {
    while (this.at >= this.batch.length && !this.done) {
      const next = await this.batches.next();
      if (next.done) this.done = true;
      else {
        this.batch = this.map ? next.value.map(this.map) : (next.value as T[]);
        this.at = 0;
      }
    }
    return this.at < this.batch.length;
  }

  /** Moves past the row at the cursor. */
  advance(): void {
    this.at++;
  }

  /** Stops the query (a client that went away, a report cut short). */
  async close(): Promise<void> {
    await this.batches.return(undefined);
  }
}
