// A host's frontends as one reading a load balancer: frontend `{account}_{lb}` is its plain
// traffic, `{account}_{lb}_S` its SSL traffic. Held in columns (typed arrays), not one object a
// reading: a host of 100k load balancers is 6 MB here instead of 40 MB of objects that the poll
// would keep alive while it stores them slice by slice (ingest makes each slice's objects).

import type { LoadBalancerReading, ReadingBatch } from './samples.ts';
import { smallWhole, StatCsvParser } from './sources/haproxyCsv.ts';

const FIRST_CAPACITY = 1024;

export class FrontendReadings implements ReadingBatch {
  private count = 0;
  private readonly slotOf = new Map<number, number>();
  private accountIds = new Float64Array(FIRST_CAPACITY);
  private loadBalancerIds = new Float64Array(FIRST_CAPACITY);
  /** bytesIn, bytesOut, bytesInSsl, bytesOutSsl of each reading, in a row. */
  private bytes = new BigUint64Array(4 * FIRST_CAPACITY);
  /** connections, connectionsSsl of each reading, in a row. */
  private connections = new Float64Array(2 * FIRST_CAPACITY);

  /** A frontend row; rows whose name is not a load balancer's (stats, admin) are skipped. */
  readonly add = (bytes: Buffer, nameFrom: number, nameTo: number, sessions: number, bytesIn: bigint, bytesOut: bigint): void => {
    const parsed = frontendName(bytes, nameFrom, nameTo);
    if (!parsed) return;
    const { accountId, loadBalancerId, ssl } = parsed;
    // A load balancer's two frontends are usually next to each other: no lookup for the second.
    let slot = this.count > 0 && this.loadBalancerIds[this.count - 1] === loadBalancerId ? this.count - 1 : this.slotOf.get(loadBalancerId);
    if (slot === undefined) {
      slot = this.count++;
      if (slot === this.accountIds.length) this.grow();
      this.slotOf.set(loadBalancerId, slot);
      this.accountIds[slot] = accountId;
      this.loadBalancerIds[slot] = loadBalancerId;
    }
    const group = ssl ? 1 : 0;
    this.bytes[4 * slot + 2 * group] = bytesIn;
    this.bytes[4 * slot + 2 * group + 1] = bytesOut;
    this.connections[2 * slot + group] = sessions;
  };

  get length(): number {
    return this.count;
  }

  slice(from: number, to: number): LoadBalancerReading[] {
    const out: LoadBalancerReading[] = [];
    for (let i = from; i < Math.min(to, this.count); i++) {
      out.push({
        accountId: this.accountIds[i]!, loadBalancerId: this.loadBalancerIds[i]!,
        bytesIn: this.bytes[4 * i]!, bytesOut: this.bytes[4 * i + 1]!, bytesInSsl: this.bytes[4 * i + 2]!, bytesOutSsl: this.bytes[4 * i + 3]!,
        connections: this.connections[2 * i]!, connectionsSsl: this.connections[2 * i + 1]!,
      });
    }
    return out;
  }

  private grow(): void {
    const capacity = 2 * this.accountIds.length;
    this.accountIds = wider(this.accountIds, new Float64Array(capacity));
    this.loadBalancerIds = wider(this.loadBalancerIds, new Float64Array(capacity));
    this.bytes = wider(this.bytes, new BigUint64Array(4 * capacity));
    this.connections = wider(this.connections, new Float64Array(2 * capacity));
  }
}

const parsedName = { accountId: 0, loadBalancerId: 0, ssl: false };
const UNDERSCORE = 95;
const S = 83;

/**
 * `{account}_{lb}` or `{account}_{lb}_S` (1 to 15 digits each) in bytes[from, to), read in
 * place: no string, no regex (its match arrays were a tenth of a poll's garbage). The answer is
 * reused by the next call.
 */
function frontendName(bytes: Buffer, from: number, to: number): typeof parsedName | undefined {
  const accountEnd = digitsEnd(bytes, from, to);
  if (accountEnd < 0 || accountEnd === to || bytes[accountEnd] !== UNDERSCORE) return undefined;
  const lbEnd = digitsEnd(bytes, accountEnd + 1, to);
  if (lbEnd < 0) return undefined;
  const ssl = lbEnd + 2 === to && bytes[lbEnd] === UNDERSCORE && bytes[lbEnd + 1] === S;
  if (!ssl && lbEnd !== to) return undefined;
  parsedName.accountId = smallWhole(bytes, from, accountEnd);
  parsedName.loadBalancerId = smallWhole(bytes, accountEnd + 1, lbEnd);
  parsedName.ssl = ssl;
  return parsedName;
}

/** Where the run of 1 to 15 digits at `from` ends (before `to`); -1 when there is none or it is longer. */
function digitsEnd(bytes: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && bytes[i]! >= 48 && bytes[i]! <= 57) i++;
  return i > from && i - from <= 15 ? i : -1;
}

function wider<T extends { set(from: T): void }>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** A stats CSV read into readings as its chunks arrive. */
export function statCsvReader(): { push(chunk: Uint8Array): void; end(): FrontendReadings } {
  const readings = new FrontendReadings();
  const parser = new StatCsvParser(readings.add);
  return {
    push: (chunk) => parser.push(chunk),
    end: () => {
      parser.end();
      return readings;
    },
  };
}

/** A whole stats CSV at once. */
export function readingsFromStatCsv(csv: string): FrontendReadings {
  const reader = statCsvReader();
  reader.push(Buffer.from(csv));
  return reader.end();
}
