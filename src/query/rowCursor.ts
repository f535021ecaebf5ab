// An ordered stream of rows read one at a time with a look at the next: what merging two
// ordered streams (records and snapshots, both by account) needs.

export class RowCursor<T> {
  private batch: T[] = [];
  private at = 0;
  private done = false;

  constructor(private readonly batches: AsyncGenerator<unknown[]>, private readonly map: (row: any) => T) {}

  async peek(): Promise<T | undefined> {
    while (this.at >= this.batch.length && !this.done) {
      const next = await this.batches.next();
      if (next.done) this.done = true;
      else {
        this.batch = next.value.map(this.map);
        this.at = 0;
      }
    }
    return this.at < this.batch.length ? this.batch[this.at] : undefined;
  }

  async take(): Promise<T | undefined> {
    const row = await this.peek();
    if (row !== undefined) this.at++;
    return row;
  }

  /** Stops the query (a client that went away, a report cut short). */
  async close(): Promise<void> {
    await this.batches.return(undefined);
  }
}
