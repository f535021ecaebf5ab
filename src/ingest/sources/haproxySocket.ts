// HAProxy's stats socket: `show info` gives the process identity (Pid, Start_time_sec), which
// changes on every reload; `show stat` gives the counters. One command per connection.

import net from 'node:net';
import { parseInfo, parseStatCsv } from './haproxyCsv.ts';
import type { StatsReading, StatsSource } from './source.ts';

function command(path: string, cmd: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(path);
    const abort = () => socket.destroy(new Error(`timed out talking to ${path}`));
    signal.addEventListener('abort', abort, { once: true });
    socket.on('connect', () => socket.end(`${cmd}\n`));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => {
      signal.removeEventListener('abort', abort);
      reject(err);
    });
    socket.on('close', (hadError) => {
      signal.removeEventListener('abort', abort);
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export function socketSource(path: string): StatsSource {
  return {
    description: `socket ${path}`,
    async read(signal): Promise<StatsReading> {
      const info = parseInfo(await command(path, 'show info', signal));
      const pid = Number(info.get('Pid'));
      const startSec = Number(info.get('Start_time_sec'));
      if (!Number.isInteger(pid)) throw new Error(`show info on ${path} gave no Pid`);
      const frontends = parseStatCsv(await command(path, 'show stat', signal));
      // Start_time_sec appeared in HAProxy 2.x; without it only the pid names the process.
      return { process: { pid, startMs: Number.isInteger(startSec) ? startSec * 1000 : 0 }, frontends };
    },
  };
}
