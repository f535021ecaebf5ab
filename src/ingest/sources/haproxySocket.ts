// HAProxy's stats socket: `show info` gives the process identity (Pid, Start_time_sec), which
// changes on every reload; `show stat` gives the counters, parsed as they arrive. One command
// per connection. Its failures name what went wrong, not the socket's path: they reach API
// answers (the host's id and name say which socket).

import net from 'node:net';
import { parseInfo } from './haproxyCsv.ts';
import { statCsvReader } from '../frontendReadings.ts';
import type { StatsReading, StatsSource } from './source.ts';

const SOCKET_ERRORS: Record<string, string> = {
  ENOENT: 'no such socket', EACCES: 'no permission to open it', ECONNREFUSED: 'nothing listens on it',
  ENOTSOCK: 'not a socket', ECONNRESET: 'the connection was reset', EPIPE: 'the connection was closed',
};

/** Sends one command and hands each chunk of the answer to `onData`, which may throw. */
function command(path: string, cmd: string, signal: AbortSignal, onData: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const abort = () => socket.destroy(new Error('stats socket: timed out'));
    signal.addEventListener('abort', abort, { once: true });
    socket.on('connect', () => socket.end(`${cmd}\n`));
    socket.on('data', (chunk) => {
      try {
        onData(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', abort);
      reject(err.code ? new Error(`stats socket: ${SOCKET_ERRORS[err.code] ?? 'unusable'} (${err.code})`) : err);
    });
    socket.on('close', (hadError) => {
      signal.removeEventListener('abort', abort);
      if (!hadError) resolve();
    });
  });
}

async function commandText(path: string, cmd: string, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  await command(path, cmd, signal, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

export function socketSource(path: string): StatsSource {
  return {
    description: `socket ${path}`,
    async read(signal): Promise<StatsReading> {
      const info = parseInfo(await commandText(path, 'show info', signal));
      const pid = Number(info.get('Pid'));
      const startSec = Number(info.get('Start_time_sec'));
      if (!Number.isInteger(pid)) throw new Error('stats socket: show info gave no Pid');
      const reader = statCsvReader();
      await command(path, 'show stat', signal, (chunk) => reader.push(chunk));
      const loadBalancers = reader.end();
      // Start_time_sec appeared in HAProxy 2.x; without it only the pid names the process.
      return { process: { pid, startMs: Number.isInteger(startSec) ? startSec * 1000 : 0 }, loadBalancers };
    },
  };
}
