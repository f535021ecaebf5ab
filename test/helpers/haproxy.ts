// Real HAProxy processes for tests: loopback only, their own config and stats socket, stopped
// by the test that started them. Frontends run in TCP mode, so the bytes a client sends and
// receives are exactly what HAProxy counts (bin, bout).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { parseInfo, parseStatCsv } from '../../src/ingest/sources/haproxyCsv.ts';

/** Ports this process handed out: the kernel may offer a port again once it was closed. */
const handedOut = new Set<number>();

/**
 * A port free now and never handed out before by this process. Two frontends of one HAProxy given
 * the same port would both bind it (SO_REUSEPORT) and split its connections between them: a
 * load balancer's bytes counted in another's frontend (seen once in CI).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** A backend that reads a request "<bytes-to-answer>\n<padding>" to its end, then answers that many bytes. */
export async function startByteServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => {
      const request = Buffer.concat(chunks).toString('latin1');
      const answer = Number(request.slice(0, request.indexOf('\n')));
      socket.end(Buffer.alloc(answer, 0x61));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Sends exactly `up` bytes through a frontend and reads exactly `down` bytes back. */
export function transfer(port: number, up: number, down: number): Promise<void> {
  const header = `${down}\n`;
  if (up < header.length) throw new Error(`a transfer sends at least ${header.length} bytes`);
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket = net.connect(port, '127.0.0.1', () => socket.end(Buffer.concat([Buffer.from(header), Buffer.alloc(up - header.length, 0x62)])));
    socket.on('data', (c) => (received += c.length));
    socket.on('error', reject);
    socket.on('close', () => (received === down ? resolve() : reject(new Error(`expected ${down} bytes back, got ${received}`))));
  });
}

export interface HaproxyHost {
  socket: string;
  /** The HTTP stats page (its CSV is this URL with ;csv). */
  statsUrl: string;
  /** Frontend name -> its loopback port. */
  ports: Map<string, number>;
  pid(): number;
  /** A real reload: a new process (new pid, counters from zero) takes over, the old one leaves. */
  reload(): Promise<void>;
  /** A crash: the process is killed (-9), then started anew (new pid, counters from zero). */
  crash(): Promise<void>;
  /** `clear counters all` on the admin socket: every counter from zero, the same process (pid). */
  clearCounters(): Promise<void>;
  /** Frontend counters as HAProxy reports them now. */
  counters(): Promise<Map<string, { bytesIn: bigint; bytesOut: bigint }>>;
  /** Waits until HAProxy has accounted every ended session (its counters stop moving). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

function stats(path: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(path, () => s.end(`${cmd}\n`));
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** `statsAuth`: the stats page asks for these credentials (HAProxy's `stats auth user:password`). */
export async function startHaproxy(frontends: string[], backendPort: number, options: { statsAuth?: string } = {}): Promise<HaproxyHost> {
  const dir = mkdtempSync(join(tmpdir(), 'lbmeter-haproxy-'));
  // lbmeter reads the socket at level user, the least it needs (show stat, show info: as
  // docs/operations.md recommends); the harness reloads through an admin socket of its own.
  const socket = join(dir, 'reader.sock');
  const adminSocket = join(dir, 'admin.sock');
  const ports = new Map<string, number>();
  let statsPort = 0;
  const cfg = join(dir, 'haproxy.cfg');
  // Ports free when chosen; another process may take one before HAProxy binds it (then the
  // start fails, and new ones are chosen).
  const choosePorts = async () => {
    for (const f of frontends) ports.set(f, await freePort());
    statsPort = await freePort();
    writeFileSync(cfg, configText());
  };
  const configText = () => [
    'global',
    `    stats socket ${adminSocket} mode 600 level admin expose-fd listeners`,
    `    stats socket ${socket} mode 600 level user`,
    '    nbthread 1',
    // A port another process took meanwhile is a failed start, never a port shared with it (a
    // reload takes the listeners over through the socket, so it binds nothing anew).
    '    noreuseport',
    'defaults',
    '    mode tcp',
    '    timeout connect 2s',
    '    timeout client 10s',
    '    timeout server 10s',
    ...frontends.flatMap((f) => [`frontend ${f}`, `    bind 127.0.0.1:${ports.get(f)}`, '    default_backend bytes']),
    'frontend stats',
    '    mode http',
    `    bind 127.0.0.1:${statsPort}`,
    '    stats enable',
    '    stats uri /stats',
    ...(options.statsAuth ? [`    stats auth ${options.statsAuth}`] : []),
    'backend bytes',
    `    server b1 127.0.0.1:${backendPort}`,
    '',
  ].join('\n');

  let current: ChildProcess;
  const launch = async (previous?: ChildProcess) => {
    const args = ['-db', '-f', cfg, ...(previous ? ['-x', adminSocket, '-sf', String(previous.pid)] : [])];
    const child = spawn('haproxy', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Ready when the stats socket answers with this process's pid.
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
      const info = await stats(adminSocket, 'show info').catch(() => '');
      if (parseInfo(info).get('Pid') === String(child.pid)) return child;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    throw new Error(`haproxy did not start: ${stderr}`);
  };
  const exited = (child: ChildProcess) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));
  for (let attempt = 1; ; attempt++) {
    await choosePorts();
    try {
      current = await launch();
      break;
    } catch (err) {
      if (attempt === 3 || !/cannot bind|Address already in use/i.test((err as Error).message)) throw err;
    }
  }

  const host: HaproxyHost = {
    socket,
    statsUrl: `http://127.0.0.1:${statsPort}/stats`,
    ports,
    pid: () => current.pid!,
    async reload() {
      const old = current;
      current = await launch(old);
      await exited(old);
    },
    async crash() {
      const dead = current;
      dead.kill('SIGKILL');
      await exited(dead);
      current = await launch();
    },
    async clearCounters() {
      await stats(adminSocket, 'clear counters all');
    },
    async counters() {
      return new Map(parseStatCsv(await stats(adminSocket, 'show stat')).map((f) => [f.name, { bytesIn: f.bytesIn, bytesOut: f.bytesOut }]));
    },
    async settle() {
      // No session open and the counters unchanged over three reads 50 ms apart: HAProxy adds a
      // session's bytes when it ends, and a loaded machine can take a moment to get there.
      let last = '';
      let still = 0;
      for (let i = 0; i < 200; i++) {
        const csv = await stats(adminSocket, 'show stat');
        const busy = parseStatCsv(csv).some((f) => f.sessions > 0);
        still = !busy && csv === last ? still + 1 : 0;
        if (still === 2) return;
        last = csv;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('haproxy did not settle');
    },
    async stop() {
      const child = current;
      child.kill('SIGTERM');
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return host;
}
