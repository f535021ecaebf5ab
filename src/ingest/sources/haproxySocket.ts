// HAProxy's stats socket: `show info` gives the process identity (Pid, Start_time_sec), which
// changes on every reload; `show stat` gives the counters, parsed as they arrive. One command
// per connection.

import net from 'node:net';
import { parseInfo } from './haproxyCsv.ts';
import { statCsvReader } from '../frontendReadings.ts';
import type { StatsReading, StatsSource } from './source.ts';

/** Sends one command and hands each chunk of the answer to `onData`, which may throw. */
function command(path: string, cmd: string, signal: AbortSignal, onData: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const abort = () => socket.destroy(new Error(`timed out talking to ${path}`));
    signal.addEventListener('abort', abort, { once: true });
    socket.on('connect', () => socket.end(`${cmd}\n`));
    socket.on('data', (chunk) => {
      try {
        onData(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', (err) => {
      signal.removeEventListener('abort', abort);
      reject(err);
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
      if (!Number.isInteger(pid)) throw new Error(`show info on ${path} gave no Pid`);
      const reader = statCsvReader();
      await command(path, 'show stat', signal, (chunk) => reader.push(chunk));
      const loadBalancers = reader.end();
      // Start_time_sec appeared in HAProxy 2.x; without it only the pid names the process.
      return { process: { pid, startMs: Number.isInteger(startSec) ? startSec * 1000 : 0 }, loadBalancers };
    },
  };
}
