// Configuration from the environment (SPEC 6). A bad value stops the start with one line that
// names the variable, what it expected and what it got.

import { closest, distance } from 'fastest-levenshtein';
import { isValidTimeZone, HOUR_MS } from './domain/time.ts';
import { EXPORT_FORMATS, type ExportFormatName } from './export/formats/index.ts';

export interface Config {
  db: string;
  host: string;
  port: number;
  baseUrl: string;
  timezone: string;
  pollIntervalMs: number;
  /** Between turns of the rollup and the export (retention and compaction run hourly). */
  jobIntervalMs: number;
  pollTimeoutMs: number;
  retentionDays: number;
  /** Days raw readings are kept after their hour is final, before compaction into hourly rows. */
  readingsDays: number;
  graceMs: number;
  deltaCeiling: bigint;
  rateLimitPerMinute: number;
  bootstrapToken?: string;
  logLevel: string;
  /** Serve /metrics (no token) on the API. */
  metrics: boolean;
  /** LBMETER_METRICS_PORT: /metrics and /health on a port of their own, in every process (off when unset). */
  metricsPort?: number;
  /** API worker processes (node:cluster); 1: the API runs in the one process. */
  workers: number;
  /** How far past its live objects V8 lets the heap grow before collecting, in percent; 0: V8's own. */
  heapGrowthPercent: number;
  /** Memory for answers about closed windows, kept as bytes (api/pageCache.ts). */
  pageCacheMb: number;
  export: ExportConfig;
  /** Lifecycle events consumed from a bus (ingest/busEvents.ts): off without a URL. */
  events: { url?: string; topic: string };
}

export interface ExportConfig {
  /** The HTTP billing sink; export is off without one. */
  url?: string;
  /** What the records become on the wire (export/formats). */
  format: ExportFormatName;
  /** `Authorization: Bearer` for the sink (Lago's API key). */
  token?: string;
  /** Lago's external_subscription_id, from `{accountId}` (and `{loadBalancerId}`). */
  lagoSubscription: string;
  /** The exchange (RabbitMQ) or subject prefix (NATS) of a bus sink. */
  topic: string;
  /** CloudEvents `source`: the same on every machine, so (source, id) names a record everywhere. */
  source: string;
  batchSize: number;
  timeoutMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return Number(raw);
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'on' && raw !== 'off') throw new ConfigError(`${name}: expected on or off, got ${JSON.stringify(raw.slice(0, 40))}`);
  return raw === 'on';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** pino's levels; anything else is one line naming them, not pino's own exception at start. */
function logLevel(env: Env): string {
  const level = env.LBMETER_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LBMETER_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level.slice(0, 40))}`);
  return level;
}

/** A file path, or a PostgreSQL URL: any other scheme is a mistake, never a SQLite file of that name (SPEC 6). */
function storeLocation(env: Env): string {
  const db = env.LBMETER_DB || './data/lbmeter.db';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(db)?.[1];
  if (scheme && scheme.length > 1 && !/^postgres(ql)?$/i.test(scheme)) {
    throw new ConfigError(`LBMETER_DB: expected a file path or a postgres:// or postgresql:// URL, got a ${JSON.stringify(scheme.slice(0, 20))} URL`);
  }
  if (/^postgres(ql)?:/i.test(db) && !/^postgres(ql)?:\/\//.test(db)) {
    throw new ConfigError('LBMETER_DB: expected a URL starting postgres:// or postgresql:// (lower case, two slashes)');
  }
  return db;
}

function exportFormat(env: Env): ExportFormatName {
  const format = env.LBMETER_EXPORT_FORMAT || 'cloudevents';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`LBMETER_EXPORT_FORMAT: expected one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(format.slice(0, 40))}`);
  return format as ExportFormatName;
}

/** A URL as it may be shown (a message, a sink's description): without a user and password in it. */
export const withoutCredentials = (url: string) => url.replace(/\/\/[^@/]*@/, '//');

/** A URL of one of these schemes (undefined when unset): any other is one line naming the variable. */
function urlSetting(env: Env, name: string, schemes: string[], expected: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let scheme = '';
  try {
    scheme = new URL(raw).protocol;
  } catch {
    // not a URL: refused below
  }
  if (!schemes.includes(scheme)) throw new ConfigError(`${name}: expected ${expected}, got ${JSON.stringify(withoutCredentials(raw).slice(0, 60))}`);
  return raw;
}

/** A topic or subject: dot-separated words of letters, digits, _ and - (no wildcards). */
function topicOf(env: Env, name: string, fallback: string): string {
  const topic = env[name] || fallback;
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(topic) || topic.length > 200) throw new ConfigError(`${name}: expected dot-separated words of letters, digits, _ and -, got ${JSON.stringify(topic.slice(0, 60))}`);
  return topic;
}

function lagoSubscription(env: Env): string {
  const template = env.LBMETER_LAGO_SUBSCRIPTION || '{accountId}';
  if (!template.includes('{accountId}') || /\{(?!accountId\}|loadBalancerId\})/.test(template) || template.length > 200) {
    throw new ConfigError(`LBMETER_LAGO_SUBSCRIPTION: expected a template with {accountId} (and optionally {loadBalancerId}), got ${JSON.stringify(template.slice(0, 60))}`);
  }
  return template;
}

export function loadConfig(env: Env = process.env): Config {
  const db = storeLocation(env);
  const host = env.LBMETER_HOST || '127.0.0.1';
  const port = integer(env, 'LBMETER_PORT', 8080, 0, 65535);
  const timezone = env.LBMETER_TIMEZONE || 'UTC';
  if (!isValidTimeZone(timezone)) throw new ConfigError(`LBMETER_TIMEZONE: expected an IANA zone name such as America/Chicago, got ${JSON.stringify(timezone.slice(0, 40))}`);
  const baseUrl = (env.LBMETER_BASE_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  try {
    new URL(baseUrl);
  } catch {
    throw new ConfigError(`LBMETER_BASE_URL: expected an absolute URL such as https://lb.example.com, got ${JSON.stringify(baseUrl.slice(0, 60))}`);
  }
  const ceiling = env.LBMETER_DELTA_CEILING || String(2n ** 40n);
  if (!/^\d{1,19}$/.test(ceiling)) throw new ConfigError(`LBMETER_DELTA_CEILING: expected a number of bytes, got ${JSON.stringify(ceiling.slice(0, 40))}`);
  const pollIntervalS = integer(env, 'LBMETER_POLL_INTERVAL', 300, 1, 86_400);
  const config: Config = {
    db,
    host,
    port,
    baseUrl,
    timezone,
    pollIntervalMs: pollIntervalS * 1000,
    jobIntervalMs: integer(env, 'LBMETER_JOB_INTERVAL', pollIntervalS, 1, 86_400) * 1000,
    pollTimeoutMs: integer(env, 'LBMETER_POLL_TIMEOUT', 10, 1, 600) * 1000,
    retentionDays: integer(env, 'LBMETER_RETENTION_DAYS', 90, 1, 3650),
    readingsDays: integer(env, 'LBMETER_READINGS_DAYS', 7, 0, 3650),
    graceMs: integer(env, 'LBMETER_GRACE', 7200, 0, 7 * 86_400) * 1000,
    deltaCeiling: BigInt(ceiling),
    rateLimitPerMinute: integer(env, 'LBMETER_RATE_LIMIT', 1200, 0, 10_000_000),
    logLevel: logLevel(env),
    metrics: onOff(env, 'LBMETER_METRICS', true),
    workers: integer(env, 'LBMETER_WORKERS', 1, 1, 64),
    heapGrowthPercent: integer(env, 'LBMETER_HEAP_GROWTH', 20, 0, 300),
    pageCacheMb: integer(env, 'LBMETER_PAGE_CACHE_MB', 32, 0, 4096),
    events: { topic: topicOf(env, 'LBMETER_EVENTS_TOPIC', 'lbmeter.events') },
    export: {
      format: exportFormat(env),
      lagoSubscription: lagoSubscription(env),
      topic: topicOf(env, 'LBMETER_EXPORT_TOPIC', 'lbmeter.usage'),
      source: env.LBMETER_EXPORT_SOURCE || '/lbmeter/usage',
      batchSize: integer(env, 'LBMETER_EXPORT_BATCH', 500, 1, 10_000),
      timeoutMs: integer(env, 'LBMETER_EXPORT_TIMEOUT', 10, 1, 600) * 1000,
      maxAttempts: integer(env, 'LBMETER_EXPORT_ATTEMPTS', 10, 1, 1000),
      baseDelayMs: integer(env, 'LBMETER_EXPORT_BACKOFF', 30, 0, 86_400) * 1000,
      maxDelayMs: HOUR_MS,
    },
  };
  const exportUrl = urlSetting(env, 'LBMETER_EXPORT_URL', ['http:', 'https:', 'amqp:', 'amqps:', 'nats:'], 'an http(s) URL of the billing receiver, or an amqp(s):// or nats:// broker');
  if (exportUrl) config.export.url = exportUrl;
  if (env.LBMETER_METRICS_PORT) config.metricsPort = integer(env, 'LBMETER_METRICS_PORT', 0, 0, 65535);
  const eventsUrl = urlSetting(env, 'LBMETER_EVENTS_URL', ['amqp:', 'amqps:', 'nats:'], 'an amqp(s):// or nats:// broker');
  if (eventsUrl) config.events.url = eventsUrl;
  if (env.LBMETER_EXPORT_TOKEN) config.export.token = env.LBMETER_EXPORT_TOKEN;
  if (env.LBMETER_BOOTSTRAP_TOKEN) config.bootstrapToken = env.LBMETER_BOOTSTRAP_TOKEN;
  return config;
}

/** Every LBMETER_ variable lbmeter reads (docs/configuration.md), and the units' own. */
export const SETTINGS = [
  'LBMETER_DB', 'LBMETER_HOST', 'LBMETER_PORT', 'LBMETER_BASE_URL', 'LBMETER_TIMEZONE', 'LBMETER_POLL_INTERVAL', 'LBMETER_JOB_INTERVAL', 'LBMETER_POLL_TIMEOUT',
  'LBMETER_RETENTION_DAYS', 'LBMETER_READINGS_DAYS', 'LBMETER_GRACE', 'LBMETER_DELTA_CEILING', 'LBMETER_RATE_LIMIT', 'LBMETER_BOOTSTRAP_TOKEN',
  'LBMETER_LOG_LEVEL', 'LBMETER_METRICS', 'LBMETER_METRICS_PORT', 'LBMETER_WORKERS', 'LBMETER_HEAP_GROWTH', 'LBMETER_PAGE_CACHE_MB',
  'LBMETER_EXPORT_URL', 'LBMETER_EXPORT_SOURCE', 'LBMETER_EXPORT_BATCH', 'LBMETER_EXPORT_TIMEOUT', 'LBMETER_EXPORT_ATTEMPTS', 'LBMETER_EXPORT_BACKOFF',
  'LBMETER_EXPORT_FORMAT', 'LBMETER_EXPORT_TOKEN', 'LBMETER_LAGO_SUBSCRIPTION', 'LBMETER_EXPORT_TOPIC',
  'LBMETER_EVENTS_URL', 'LBMETER_EVENTS_TOPIC',
  // Read by the systemd units (deploy/systemd/lbmeter@.service), not by lbmeter.
  'LBMETER_SERVE_FLAGS',
] as const;

/**
 * A warning for each LBMETER_ variable lbmeter does not read (a typo silently kept the default),
 * with the nearest known name. LBMETER_TEST_ variables belong to the test suite.
 */
export function unknownSettings(env: Env): string[] {
  return Object.keys(env).filter((name) => name.startsWith('LBMETER_') && !name.startsWith('LBMETER_TEST_') && !(SETTINGS as readonly string[]).includes(name)).sort().map((name) => {
    const nearest = closest(name, [...SETTINGS]);
    const hint = distance(name, nearest) <= Math.max(3, Math.floor(nearest.length / 4)) ? ` (did you mean ${nearest}?)` : '';
    return `${name} is not a setting of lbmeter${hint}; it is ignored`;
  });
}
