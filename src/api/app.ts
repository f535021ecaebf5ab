// The HTTP API: one Fastify app, its cross-cutting concerns registered in one place (format,
// auth, rate limit, faults), and the routes of routes/.

import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyError } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { Config } from '../config.ts';
import type { TokenRecord } from '../store/tokens.ts';
import { isStoreUnavailable } from '../store/dialect/index.ts';
import { ApiFault, badRequest, forbidden, notFound, overLimit, serviceUnavailable, shown } from './faults.ts';
import { faultXml } from './format/xml.ts';
import { formatFromAccept, stripSuffix, type Format } from './negotiate.ts';
import { authenticate, authorize, KnownTokens, type Access } from './auth.ts';
import { PARAM_RULES } from './params.ts';
import { timePrinter, type TimePrinter } from '../domain/time.ts';
import { allRoutes, registerRoutes } from './routes/index.ts';
import { Metrics } from '../metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { PageBoundaries } from './pageBoundaries.ts';
import { PageCache } from './pageCache.ts';
import type { StoreRevision } from '../store/revision.ts';
import { VERSION } from '../version.ts';
import { registerDashboard } from '../dashboard/routes.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The write API speaks JSON only. */
    jsonOnly?: boolean;
    /** The route answers in its own media type (metrics, the docs page): no Accept check. */
    ownMediaType?: boolean;
  }
  interface FastifyRequest {
    token?: TokenRecord;
  }
}

export interface AppContext {
  store: Store;
  config: Config;
  logger?: Logger;
  /** The clock of the API (tests move it). */
  now?: () => number;
  /** Shared with the process's poller and jobs; made here when absent. */
  metrics?: Metrics;
}

export interface ApiContext extends AppContext {
  now: () => number;
  /** The clock was given (tests): polls stamp their readings with it instead of the machine's. */
  clockGiven: boolean;
  metrics: Metrics;
  pageBoundaries: PageBoundaries;
  pageCache: PageCache;
  /** The store's revision as this process last read it (respond.ts sendPage). */
  storeRevisionSeen?: StoreRevision;
  knownTokens: KnownTokens;
  printer: TimePrinter;
  /** Set once shutdown begins: new requests get 503. */
  closing: boolean;
}

/** A body for any route that does not say otherwise (the ingest routes take more). */
const BODY_LIMIT = 2 ** 20;
/** No body the API takes nests deeper than a few levels; a deeper one is refused before it is parsed. */
const MAX_JSON_DEPTH = 16;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(context: AppContext): Promise<{ app: FastifyInstance; api: ApiContext }> {
  const now = context.now ?? Date.now;
  const api: ApiContext = { ...context, now, clockGiven: context.now !== undefined, metrics: context.metrics ?? new Metrics(context.store, { now, exportSink: !!context.config.export.url, graceMs: context.config.graceMs }), pageBoundaries: new PageBoundaries(), pageCache: new PageCache(context.config.pageCacheMb * 2 ** 20), knownTokens: new KnownTokens(), printer: timePrinter(context.config.timezone), closing: false };
  const app = Fastify({
    ...(context.logger ? { loggerInstance: context.logger as unknown as FastifyBaseLogger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Input types are checked, never coerced: "5" is not a number in a JSON body.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Errors raised before any route runs (a path that is not a valid URL, a path segment over
    // maxParamLength) are faults like any other: the table's shape, the asked format, the id.
    frameworkErrors: (err, request, reply) => {
      request.format = negotiatedFormat(request) ?? 'json';
      reply.header('x-request-id', request.id);
      const fault = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? longSegmentFault(request.url, routeTemplates())
        : err.code === 'FST_ERR_BAD_URL' ? badRequest('path: not a valid URL (a % must start an escape of two hex digits of UTF-8)')
        : toFault(err as FastifyError, request);
      return sendFault(request, reply, fault);
    },
    // Requests Node's HTTP parser refuses (headers over 16 KB, malformed request lines) never
    // reach a route: they are answered here, as faults of the table (in JSON: nothing of the
    // request, Accept included, could be read), where Fastify would answer in its own shape.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const fault = err.code === 'HPE_HEADER_OVERFLOW' ? badRequest('headers: larger than the 16 KB a request may send (the URL included)')
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? badRequest('the request was not received in time')
        : badRequest('not a well-formed HTTP request');
      const body = JSON.stringify({ [fault.kind]: { code: fault.status, message: fault.message } });
      if (socket.writable) {
        socket.write(`HTTP/1.1 ${fault.status} Bad Request\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
      }
      socket.destroy(err);
    },
    rewriteUrl: (req) => {
      let { url, suffix } = stripSuffix(req.url ?? '/');
      if (url.startsWith('/v1.0/management/') || url === '/v1.0/management') url = url.slice('/v1.0'.length);
      (req as { formatSuffix?: Format }).formatSuffix = suffix;
      return url;
    },
  });

  let templates: string[] | undefined;
  const routeTemplates = () => (templates ??= allRoutes(api).map((r) => r.url));

  app.decorateRequest('format', 'json');
  app.decorateRequest('token', undefined);

  // JSON bodies: nesting is checked before parsing (a body of thousands of brackets made the
  // parser and then the error handler overflow the stack); the rest is Fastify's own parser,
  // which refuses __proto__ and constructor keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (nestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return done(badRequest(`body: nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    return parseJson(request, text, done);
  });

  await app.register(rateLimit, { global: false });
  /** LBMETER_RATE_LIMIT requests a minute per key; undefined when the limit is off. */
  const perMinute = (key: (req: FastifyRequest) => string, whose: string) => (context.config.rateLimitPerMinute > 0
    ? app.rateLimit({
        max: context.config.rateLimitPerMinute,
        timeWindow: 60_000,
        keyGenerator: key,
        errorResponseBuilder: (_req, ctx) => overLimit('rate limit exceeded', `at most ${ctx.max} requests a minute ${whose}; retry in ${ctx.after}`, Math.ceil(ctx.ttl / 1000)),
      })
    : undefined);
  const limiter = perMinute((req) => `token:${req.token?.id ?? req.ip}`, 'for this token');
  // Traffic without a token (health, metrics, the docs and dashboard files) and every failed
  // sign-in count against the caller's address, at the same rate: a flood of guessed tokens or
  // of /health is limited like a token's requests.
  const anonymousLimiter = perMinute((req) => `address:${req.ip}`, 'without a valid token from this address');

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const config = request.routeOptions.config;
    const format = config?.ownMediaType ? 'json' : negotiatedFormat(request);
    if (!format) throw new ApiFault(406, 'Accept must allow application/json or application/xml', `received ${shown(request.headers.accept)}`);
    request.format = format;
    if (api.closing) throw serviceUnavailable('the service is shutting down');
    // A matched route that declares no access rule (none can be registered: see onRoute below)
    // refuses every token.
    if (request.routeOptions.url && !config?.access) throw forbidden('this route declares no access rule');
    if (config?.access && config.access.kind !== 'open') {
      try {
        request.token = await authenticate(context.store, api.knownTokens, request, api.now());
      } catch (err) {
        if (anonymousLimiter && err instanceof ApiFault && err.status === 401) await anonymousLimiter.call(app, request, reply);
        throw err;
      }
      // Counted before it is authorised: a refused request (403) costs the token like any other,
      // so a tenant cannot probe other accounts without end (SPEC 2.4).
      if (limiter) await limiter.call(app, request, reply);
      authorize(request.token, request, config.access);
    } else if (anonymousLimiter && request.routeOptions.url) await anonymousLimiter.call(app, request, reply);
    // A JSON-only endpoint asked for XML says so in XML: the fault in the format the caller reads.
    if (format === 'xml' && config?.jsonOnly) {
      throw new ApiFault(406, 'this endpoint answers in JSON only', 'send Accept: application/json');
    }
  });

  // A page about closed hours, made for this request, is kept as the bytes sent (respond.ts
  // sendPage); one serialized to a string is sent as those bytes too, encoded once, not at each
  // hit. Bytes written into a buffer more than twice their size are kept as a copy of their own:
  // the cache counts what it holds.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.pageCacheKey && reply.statusCode === 200 && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
      const body = typeof payload === 'string' || payload.length < payload.buffer.byteLength / 2 ? Buffer.from(payload) : payload;
      api.pageCache.set(request.pageCacheKey, { body, contentType: String(reply.getHeader('content-type')) });
      return body;
    }
    return payload;
  });

  // Route templates, not URLs, label the metrics: ids in paths would make a series per id.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    api.metrics.requests.inc({ method, route, status: String(reply.statusCode) });
    api.metrics.requestSeconds.observe({ method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    try {
      const fault = toFault(err, request);
      if (fault.status === 500) request.log.error({ err }, 'unexpected error');
      else if (fault.status === 503) request.log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'store unavailable');
      return sendFault(request, reply, fault);
    } catch {
      // Whatever went wrong describing the error, the answer is still a fault of the table.
      return sendFault(request, reply, new ApiFault(500, 'the load balancer service has experienced a fault', `request id ${request.id}`));
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = (request.url.split('?')[0] ?? '/');
    return sendFault(request, reply, notFound(`no resource at ${request.method} ${shown(path)}`));
  });

  await registerOpenApi(app, VERSION);
  // Deny by default: a route that does not say who may call it stops the start. (The docs'
  // routes, registered above, are open by registerOpenApi's own hook.)
  app.addHook('onRoute', (route) => {
    if (!(route.config as { access?: Access } | undefined)?.access) throw new Error(`${String(route.method)} ${route.url} declares no access rule (config.access)`);
  });
  registerRoutes(app, api);
  registerDashboard(app);
  return { app, api };
}

export function sendFault(request: FastifyRequest, reply: FastifyReply, fault: ApiFault) {
  reply.code(fault.status).headers(fault.headers);
  if (request.format === 'xml') {
    return reply.type('application/xml; charset=utf-8').send(faultXml(fault.kind, fault.status, fault.message, fault.details));
  }
  const body: Record<string, unknown> = { code: fault.status, message: fault.message };
  if (fault.details !== undefined) body.details = fault.details;
  return reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send({ [fault.kind]: body });
}

/** The format a request asks for: its .json/.xml suffix, else its Accept header; undefined when neither is ours. */
function negotiatedFormat(request: FastifyRequest): Format | undefined {
  return (request.raw as { formatSuffix?: Format }).formatSuffix ?? formatFromAccept(request.headers.accept);
}

/** How deep [ and { nest in a JSON text (outside strings), counted up to just past `limit`. */
export function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return deepest;
}

function toFault(err: FastifyError, request: FastifyRequest): ApiFault {
  if (err instanceof ApiFault) return err;
  if (err.validation?.length) return validationFault(err, request);
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return badRequest(`Content-Type: expected application/json, received ${shown(request.headers['content-type'])}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('body: expected a JSON object, received nothing');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest('body: not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return overLimit(`body: larger than ${request.routeOptions.bodyLimit ?? BODY_LIMIT} bytes`);
  }
  if (isStoreUnavailable(err)) return serviceUnavailable('the usage store is unreachable; try again shortly');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    if (err instanceof SyntaxError) return badRequest('body: not valid JSON');
    return new ApiFault(err.statusCode === 413 ? 413 : 400, err.message);
  }
  return new ApiFault(500, 'the load balancer service has experienced a fault', `request id ${request.id}`);
}

/** The first schema violation as "where: what was expected, received what". */
function validationFault(err: FastifyError, request: FastifyRequest): ApiFault {
  const v = err.validation![0];
  const context = (err as { validationContext?: string }).validationContext ?? 'body';
  const segments = v.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const missing = (v.params as { missingProperty?: string }).missingProperty;
  const extra = (v.params as { additionalProperty?: string }).additionalProperty;
  if (context === 'querystring' || context === 'params') {
    const name = missing ?? segments[0] ?? '';
    if (missing) return badRequest(`${name}: required`);
    const value = (context === 'params' ? request.params : request.query) as Record<string, unknown>;
    const received = value?.[name];
    if (Array.isArray(received)) return badRequest(`${name}: given more than once`);
    return badRequest(`${name}: ${PARAM_RULES[name] ?? v.message}, received ${shown(received)}`);
  }
  const path = (extra ? [...segments, extra] : missing ? [...segments, missing] : segments)
    .reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '') || 'body';
  if (missing) return badRequest(`${path}: required`);
  if (extra) return badRequest(`${path}: not a known field`);
  let received: unknown = request.body;
  for (const s of segments) received = (received as Record<string, unknown> | undefined)?.[s];
  const allowed = (v.params as { allowedValues?: unknown[] }).allowedValues;
  const expectation = allowed ? `must be one of ${allowed.join(', ')}` : v.message ?? 'invalid';
  return badRequest(`${path}: ${expectation}, received ${shown(received)}`);
}

/**
 * A path segment over Fastify's 100 characters is refused before routing: the fault names the
 * parameter it stands for (by the route templates its other segments match), like every other 400.
 */
function longSegmentFault(url: string, templates: string[]): ApiFault {
  const segments = (url.split('?')[0] ?? '/').split('/');
  const long = segments.findIndex((segment) => segment.length > 100);
  for (const template of templates) {
    const parts = template.split('/');
    if (parts.length !== segments.length || !parts.every((p, i) => p.startsWith(':') || p === segments[i])) continue;
    const name = parts[long]?.startsWith(':') ? parts[long]!.slice(1) : undefined;
    if (name) return badRequest(`${name}: ${PARAM_RULES[name] ?? 'expected at most 100 characters'}, received ${shown(segments[long])} (${segments[long]!.length} characters)`);
  }
  return badRequest('path: a segment is longer than 100 characters');
}
