// HTTP for the benchmarks: the lbmeter API (or a bare node:http ceiling) in a process of its
// own, and a keep-alive client that measures latency and throughput from this one.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statCsv } from './fixtures.ts';

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

/** Latencies in ms: the median, the 99th percentile and the slowest. */
export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function latencyOf(times: number[]): Latency {
  const s = [...times].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)]!, p99: s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!, max: s.at(-1)! };
}

/** The middle of an odd number of measurements. */
export const median = (values: number[]): number => latencyOf(values).p50;

/**
 * Latencies of n sequential calls of each function, taken in turn (a, b, a, b, ...) after a few
 * to warm up: both see the same machine, so a busy moment cannot land on one side only.
 */
export async function pairedLatencies(n: number, ...calls: (() => Promise<unknown>)[]): Promise<Latency[]> {
  for (let i = 0; i < 3; i++) for (const call of calls) await call();
  const times = calls.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < calls.length; c++) {
      const t = performance.now();
      await calls[c]!();
      times[c]!.push(performance.now() - t);
    }
  }
  return times.map(latencyOf);
}

/**
 * A measurement against its baseline: n samples of each taken in turn, three runs, and the run
 * whose p50 ratio is the median of the three, so one noisy run cannot decide a ratio.
 */
export async function againstBaseline(n: number, measured: () => Promise<unknown>, baseline: () => Promise<unknown>): Promise<{ measured: Latency; baseline: Latency }> {
  const runs: { measured: Latency; baseline: Latency }[] = [];
  for (let i = 0; i < 3; i++) {
    const [m, b] = await pairedLatencies(n, measured, baseline);
    runs.push({ measured: m!, baseline: b! });
  }
  return runs.sort((x, y) => x.measured.p50 / x.baseline.p50 - y.measured.p50 / y.baseline.p50)[1]!;
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
  return startedWith(child, pattern).then((m) => m[1]!);
}

/** Resolves with the match once the process printed what the pattern looks for. */
function startedWith(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve(m);
    });
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err.slice(-2000)}`)));
  });
}

function server(child: ChildProcess, url: string): Server {
  return {
    url,
    pid: child.pid!,
    peakRssMb: () => peakRssMbOf(child.pid!),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** `lbmeter serve` started as operators start it: the bin with its own Node.js flags, after `prefix` (nice). */
function spawnServe(flags: string[], env: Record<string, string>, prefix: string[] = []): ChildProcess {
  const [command, ...args] = [...prefix, new URL('../bin/lbmeter.js', import.meta.url).pathname, 'serve', ...flags];
  return spawn(command!, args, {
    env: { ...process.env, LBMETER_PORT: '0', LBMETER_RATE_LIMIT: '0', LBMETER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The API alone, no poller and no jobs. */
export async function startLbmeter(env: Record<string, string>): Promise<Server> {
  const child = spawnServe(['--no-jobs', '--no-poller'], env);
  return server(child, await started(child, /API on (http:\/\/\S+)/));
}

/**
 * One unit of a deployment (docs/operations.md, Several processes): `serve` with its flags, metrics
 * on a port of their own; `url` is the API's when it serves one. `processes` are its own and its
 * API workers' pids.
 */
export async function startUnit(flags: string[], env: Record<string, string>, prefix: string[] = []): Promise<Server & { metricsUrl: string; processes(): number[] }> {
  const child = spawnServe(flags, { LBMETER_METRICS_PORT: '0', ...env }, prefix);
  const serves = !flags.includes('--no-api');
  const m = await startedWith(child, serves ? /API on (http:\/\/\S+)[\s\S]*metrics: (http:\/\/\S+)\/metrics/ : /()metrics: (http:\/\/\S+)\/metrics/);
  const children = () => readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return { ...server(child, m[1]!), metricsUrl: m[2]!, processes: () => [child.pid!, ...children()] };
}

/** Peak resident memory of a process so far, in MB (VmHWM). */
export function peakRssMbOf(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
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

/**
 * A host's stats page of load balancers 1..n (HAProxy's CSV over HTTP): every read counts on from
 * the last, so each poll stores a delta of every load balancer.
 */
export async function startStatsHost(n: number): Promise<{ url: string; close(): Promise<void> }> {
  let round = 0;
  const server = http.createServer((req, res) => {
    if (!req.url!.includes(';csv')) return res.end('<b>pid = </b> 4242 (process #1)');
    round++;
    res.end(statCsv(n, (lb) => [1, round * lb, round * 2 * lb, 0, round, round]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * startStatsHost in a process of its own (bench/statsHost.ts), at the lowest CPU priority: it
 * stands for HAProxy on machines of its own, and making its CSV must not take the CPU from what
 * is measured here.
 */
export async function startStatsHostProcess(n: number): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn('nice', ['-n', '19', process.execPath, '--import', 'tsx', new URL('./statsHost.ts', import.meta.url).pathname, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const s = server(child, await started(child, /stats on (http:\/\/\S+)/));
  return { url: s.url, close: s.stop };
}
