// A TCP proxy in front of PostgreSQL for the soak: lbmeter's processes reach their store through
// it, so the soak can take the store away (every connection dropped, new ones refused) or slow
// its link (each chunk delayed), as a network or a failover would.

import net from 'node:net';

export interface StoreProxy {
  port: number;
  /** The store is unreachable for `ms`: open connections are cut, new ones closed at once. */
  outage(ms: number): Promise<void>;
  /** Every chunk either way waits `delayMs` for `ms`. */
  slow(delayMs: number, ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startStoreProxy(targetPort: number): Promise<StoreProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  let delayMs = 0;
  /** Forwards in order, each chunk after the delay in force when it came. */
  const forward = (from: net.Socket, to: net.Socket) => {
    let last = Promise.resolve();
    from.on('data', (chunk) => {
      const wait = delayMs;
      last = last.then(() => (wait ? new Promise((r) => setTimeout(r, wait)) : undefined)).then(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('end', () => void last.then(() => to.end()));
  };
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => s.destroy());
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    port: (server.address() as net.AddressInfo).port,
    async outage(ms) {
      down = true;
      for (const s of sockets) s.destroy();
      await pause(ms);
      down = false;
    },
    async slow(delay, ms) {
      delayMs = delay;
      await pause(ms);
      delayMs = 0;
    },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
