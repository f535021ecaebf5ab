// How much memory a long-running lbmeter keeps. V8 lets its heap grow to up to four times what
// is live before it collects, and only hands pages back slowly: for a service whose work comes
// in bursts (a poll of 100k load balancers makes 400 MB of objects that live a few milliseconds
// each), that sets its size. Collecting at 20% past the live objects keeps serve, polling 100k
// load balancers while serving pages, at 177 MB instead of 267 MB, at about a tenth of its page rate
// (measured, see docs/performance.md).
// The young generation is kept small by bin/lbmeter.js's own flag (--max-semi-space-size=4):
// V8 reads that one only at start.

import v8 from 'node:v8';

export function limitHeapGrowth(percent: number): void {
  // A flag given on the command line wins; this one is read at every collection, so setting it
  // now takes effect from the next one.
  if (percent === 0 || process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
