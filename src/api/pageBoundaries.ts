// Deep pages at the cost of the first (DESIGN, lessons): when a client follows a `next` link,
// the page it asks for starts right after the last record of the page it has. This process
// remembers that record's key for the offset the link names, and the store then seeks to it
// through the index instead of skipping every earlier row. Links keep the contract's offset
// form; an offset nobody reached by `next` (or one served by another process) falls back to
// skipping rows. A remembered boundary lives ten minutes: a client following links continues
// right after the page it has even if records were added to the window meanwhile, and a
// later client asking for the same offset gets the plain offset again.

import type { Store } from '../store/store.ts';
import { usageRecordRowPage, type RecordKey, type RecordWindow } from '../store/usageRecords.ts';
import type { Paging } from './params.ts';

export class PageBoundaries {
  private readonly keys = new Map<string, { key: RecordKey; until: number }>();

  constructor(private readonly capacity = 10_000, private readonly ttlMs = 10 * 60_000) {}

  get(window: RecordWindow, offset: number): RecordKey | undefined {
    const id = PageBoundaries.id(window, offset);
    const entry = this.keys.get(id);
    if (!entry) return undefined;
    this.keys.delete(id);
    if (entry.until < Date.now()) return undefined;
    this.keys.set(id, entry); // most recently used last; the oldest goes first
    return entry.key;
  }

  remember(window: RecordWindow, offset: number, key: RecordKey): void {
    this.keys.set(PageBoundaries.id(window, offset), { key, until: Date.now() + this.ttlMs });
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value!);
  }

  /** Forgets every boundary (a test that rewrites history between walks). */
  clear(): void {
    this.keys.clear();
  }

  private static id(w: RecordWindow, offset: number): string {
    return `${w.match}|${w.startMs}|${w.endMs}|${w.accountId ?? ''}|${w.loadBalancerId ?? ''}|${offset}`;
  }
}

/** A page of usage records' rows, seeking from a remembered boundary when there is one. */
export async function usageRecordPageFollowingLinks(store: Store, boundaries: PageBoundaries, window: RecordWindow, paging: Paging) {
  const after = paging.offset > 0 ? boundaries.get(window, paging.offset) : undefined;
  const page = await usageRecordRowPage(store, window, after ? 0 : paging.offset, paging.limit, after);
  if (page.more && page.last) boundaries.remember(window, paging.offset + paging.limit, page.last);
  return page;
}
