// HTTP for the benchmarks: the lbmeter API (or a bare node:http ceiling) in a process of its
// own, and a keep-alive client that measures latency and throughput from this one.

import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** p50 in ms of n sequential calls, after a few to warm up. */
export async function p50(n: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Completed calls a second with `concurrency` callers for `seconds`. */
export async function throughput(seconds: number, concurrency: number, call: () => Promise<Answer>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const r = await call();
      if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.slice(0, 200)}`);
      done++;
    }
  }));
  return done / seconds;
}

export interface Server {
  url: string;
  pid: number;
  /** Peak resident memory so far, in MB (VmHWM). */
  peakRssMb(): number;
  stop(): Promise<void>;
}

function started(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err.slice(-2000)}`)));
  });
}

function server(child: ChildProcess, url: string): Server {
  return {
    url,
    pid: child.pid!,
    peakRssMb() {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return Number(kb) / 1024;
    },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

export async function startLbmeter(env: Record<string, string>): Promise<Server> {
  // Started as operators start it: the bin with its own Node.js flags.
  const child = spawn(new URL('../bin/lbmeter.js', import.meta.url).pathname, ['serve', '--no-jobs', '--no-poller'], {
    env: { ...process.env, LBMETER_PORT: '0', LBMETER_RATE_LIMIT: '0', LBMETER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return server(child, await started(child, /API on (http:\/\/\S+)/));
}

/** The ceiling: bare node:http answering one pre-serialized body, in a process of its own. */
export async function startCeiling(body: string): Promise<Server> {
  const file = join(mkdtempSync(join(tmpdir(), 'lbmeter-bench-')), 'page.json');
  writeFileSync(file, body);
  const code = `
    const body = require('node:fs').readFileSync(process.env.BODY_FILE);
    const s = require('node:http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
    s.listen(0, '127.0.0.1', () => console.log('ceiling on http://127.0.0.1:' + s.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, BODY_FILE: file }, stdio: ['ignore', 'pipe', 'pipe'] });
  return server(child, await started(child, /ceiling on (http:\/\/\S+)/));
}

/** A whole response read and counted, never held (a billing day is hundreds of MB). */
export function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; tail: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      let tail = '';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        tail = c.subarray(Math.max(0, c.length - 64)).toString();
      });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, tail }));
      res.on('error', reject);
    }).on('error', reject);
  });
}
