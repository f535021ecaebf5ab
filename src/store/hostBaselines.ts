// A host's counter baselines (the newest chain link of each load balancer) held in the packed
// form they are stored in: one 56-byte link a load balancer in one buffer, read and written
// through typed-array views. Loading is a copy of the stored bytes and saving hands them back;
// a poll that moves 100k baselines writes into the buffer and leaves no object a link behind
// (as a Map of link objects it packed for 90 ms and its surviving links made most of a poll's
// garbage collection, profiled).
//
// One link: load balancer id and time (float64, exact integers below 2^53), the index of its
// process key (uint32), how long after a clear of its process's counters the link was read
// while that is within the counter-order window (uint32: milliseconds + 1, 0 for none; links
// stored before it was kept read 0, as before it), and the four raw counters (unsigned 64-bit),
// all little-endian.

import { endianness } from 'node:os';
import type { ChainLink } from '../domain/delta.ts';

const LINK_BYTES = 56;
/** A link in 8-byte words: id, time, key, then the four counters. */
const WORDS = LINK_BYTES / 8;
const FIRST_CAPACITY = 64;

// Typed arrays use the machine's byte order, the stored links little-endian.
if (endianness() !== 'LE') throw new Error('lbmeter keeps counter baselines little-endian and runs on little-endian machines only');

export class HostBaselines {
  private count = 0;
  private readonly slotOf = new Map<number, number>();
  private readonly keyIndex = new Map<string, number>();
  private processKeys: string[] = [];
  private f64!: Float64Array;
  private u32!: Uint32Array;
  private u64!: BigUint64Array;

  constructor(entries: Iterable<[number, ChainLink]> = []) {
    this.allocate(FIRST_CAPACITY);
    for (const [lbId, link] of entries) this.set(lbId, link);
  }

  /** Baselines from their stored form (see `pack`). */
  static unpack(processKeys: string[], links: Uint8Array): HostBaselines {
    const out = new HostBaselines();
    const count = Math.floor(links.byteLength / LINK_BYTES);
    out.allocate(Math.max(FIRST_CAPACITY, count));
    // A copy into the views' own aligned buffer: the driver's bytes may start anywhere.
    new Uint8Array(out.f64.buffer).set(links.subarray(0, count * LINK_BYTES));
    out.processKeys = [...processKeys];
    processKeys.forEach((key, i) => out.keyIndex.set(key, i));
    for (let slot = 0; slot < count; slot++) out.slotOf.set(out.f64[WORDS * slot]!, slot);
    out.count = count;
    return out;
  }

  get size(): number {
    return this.count;
  }

  get(lbId: number): ChainLink | undefined {
    const slot = this.slotOf.get(lbId);
    return slot === undefined ? undefined : this.linkAt(slot);
  }

  /** How long after a clear of its counters the newest link was read, if within the window (samples.ts). */
  clearAgeMs(lbId: number): number | undefined {
    const slot = this.slotOf.get(lbId);
    const stored = slot === undefined ? 0 : this.u32[2 * WORDS * slot + 5]!;
    return stored === 0 ? undefined : stored - 1;
  }

  set(lbId: number, link: ChainLink, clearAgeMs?: number): this {
    let slot = this.slotOf.get(lbId);
    if (slot === undefined) {
      if (WORDS * (this.count + 1) > this.f64.length) this.allocate(2 * (this.count + 1));
      slot = this.count++;
      this.slotOf.set(lbId, slot);
    }
    let key = this.keyIndex.get(link.processKey);
    if (key === undefined) {
      key = this.processKeys.push(link.processKey) - 1;
      this.keyIndex.set(link.processKey, key);
    }
    const at = WORDS * slot;
    this.f64[at] = lbId;
    this.f64[at + 1] = link.timeMs;
    this.u32[2 * at + 4] = key;
    this.u32[2 * at + 5] = clearAgeMs === undefined ? 0 : clearAgeMs + 1;
    this.u64[at + 3] = link.bytesIn;
    this.u64[at + 4] = link.bytesOut;
    this.u64[at + 5] = link.bytesInSsl;
    this.u64[at + 6] = link.bytesOutSsl;
    return this;
  }

  keys(): IterableIterator<number> {
    return this.slotOf.keys();
  }

  *[Symbol.iterator](): IterableIterator<[number, ChainLink]> {
    for (const [lbId, slot] of this.slotOf) yield [lbId, this.linkAt(slot)];
  }

  /**
   * The stored form: the links' bytes, the process keys they index (only those still used: a
   * host's restarts would otherwise add one each forever) and the newest link's time.
   */
  pack(): { processKeys: string[]; links: Buffer; newestMs: number } {
    const used = new Uint8Array(this.processKeys.length);
    let newestMs = 0;
    for (let slot = 0; slot < this.count; slot++) {
      used[this.u32[2 * WORDS * slot + 4]!] = 1;
      const timeMs = this.f64[WORDS * slot + 1]!;
      if (timeMs > newestMs) newestMs = timeMs;
    }
    if (used.includes(0)) this.dropUnusedKeys(used);
    return { processKeys: [...this.processKeys], links: Buffer.from(this.bytes()), newestMs };
  }

  private dropUnusedKeys(used: Uint8Array): void {
    const renumbered = new Uint32Array(used.length);
    const kept: string[] = [];
    this.processKeys.forEach((key, i) => {
      if (used[i]) renumbered[i] = kept.push(key) - 1;
    });
    for (let slot = 0; slot < this.count; slot++) {
      const at = 2 * WORDS * slot + 4;
      this.u32[at] = renumbered[this.u32[at]!]!;
    }
    this.processKeys = kept;
    this.keyIndex.clear();
    kept.forEach((key, i) => this.keyIndex.set(key, i));
  }

  private linkAt(slot: number): ChainLink {
    const at = WORDS * slot;
    return {
      processKey: this.processKeys[this.u32[2 * at + 4]!]!, timeMs: this.f64[at + 1]!,
      bytesIn: this.u64[at + 3]!, bytesOut: this.u64[at + 4]!, bytesInSsl: this.u64[at + 5]!, bytesOutSsl: this.u64[at + 6]!,
    };
  }

  private bytes(): Uint8Array {
    return new Uint8Array(this.f64.buffer, 0, this.count * LINK_BYTES);
  }

  /** Room for `capacity` links, keeping the links held. */
  private allocate(capacity: number): void {
    const buffer = new ArrayBuffer(capacity * LINK_BYTES);
    if (this.f64) new Uint8Array(buffer).set(this.bytes());
    this.f64 = new Float64Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.u64 = new BigUint64Array(buffer);
  }
}
