// A stats host of load balancers 1..N in a process of its own (`node --import tsx bench/statsHost.ts N`):
// making 100k load balancers' CSV takes a few hundred ms a read, which in the bench's own process
// would hold up the clients it times. Prints its URL; stops with its parent's SIGTERM.

import { startStatsHost } from './http.ts';

const host = await startStatsHost(Number(process.argv[2]));
console.log(`stats on ${host.url}`);
process.on('SIGTERM', () => void host.close().then(() => process.exit(0)));
