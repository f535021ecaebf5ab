// Answers about closed windows (every hour final), kept as the bytes sent: such an answer
// changes only when the store's revision advances (a correction, a purge), which is part of the
// key, so a stale page is never served and outdated ones simply age out. Least recently used
// pages go first once the cache holds its budget of bytes.

export interface CachedPage {
  body: Buffer;
  contentType: string;
}

export class PageCache {
  private readonly pages = new Map<string, CachedPage>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): CachedPage | undefined {
    const page = this.pages.get(key);
    if (page) {
      this.pages.delete(key);
      this.pages.set(key, page); // most recently used last
    }
    return page;
  }

  /** Whether the page is there, without making it the most recently used. */
  has(key: string): boolean {
    return this.pages.has(key);
  }

  set(key: string, page: CachedPage): void {
    const size = page.body.length;
    if (size > this.maxBytes / 4 || this.pages.has(key)) return;
    this.pages.set(key, page);
    this.bytes += size;
    for (const [oldest, old] of this.pages) {
      if (this.bytes <= this.maxBytes) break;
      this.pages.delete(oldest);
      this.bytes -= old.body.length;
    }
  }

  get size(): number {
    return this.pages.size;
  }
}
