// Sending a response in the negotiated format from one value and its response type.

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toXml } from './format/xml.ts';
import type { ResponseType } from './format/shape.ts';
import { responseSchema } from './format/jsonSchema.ts';
import type { Format } from './negotiate.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';
import { storeRevision, type StoreRevision } from '../store/revision.ts';
import type { ApiContext } from './app.ts';
import { VERSION } from '../version.ts';

declare module 'fastify' {
  interface FastifyRequest {
    format: Format;
    /** Where the answer goes in the page cache once sent (app.ts). */
    pageCacheKey?: string;
  }
}

/**
 * An answer of a response type in the negotiated format: a value, written by the type's writers,
 * or its bytes already written in that format (records written from their rows, format/recordRows.ts).
 */
export function send(request: FastifyRequest, reply: FastifyReply, type: ResponseType, value: Record<string, unknown> | Buffer) {
  if (request.format === 'xml') {
    return reply.type('application/xml; charset=utf-8').send(Buffer.isBuffer(value) ? value : toXml(type, value));
  }
  // Fastify sends bytes as they are, without its serializer.
  return reply.type('application/json; charset=utf-8').send(value);
}

/**
 * A page about a window: when every hour the window touches is final, it can only change with
 * the store's revision, so it is answered from the page cache when there, and cached once made.
 * Its strong ETag names what the bytes are made from (revision, format, URL, and this process's
 * base URL, display zone and version), so `If-None-Match` is answered 304 without the page,
 * cached or not, and without hashing a body. The revision and the final hours are read from the
 * store at each request: processes sharing a store agree on what is current.
 *
 * A page that will be made anyway is read beside the revision, not after it (a round trip less on
 * PostgreSQL), and kept only if the revision read is the one this process saw before the page's
 * read began: the page's rows are then at least as new as the revision that names them, as when
 * it is read after the revision. Otherwise it is read again.
 */
export async function sendPage(api: ApiContext, request: FastifyRequest, reply: FastifyReply, window: { endMs: number }, type: ResponseType, produce: () => Promise<Record<string, unknown> | Buffer>) {
  const seen = api.storeRevisionSeen;
  const reading = storeRevision(api.store.db);
  const early = seen && !request.headers['if-none-match'] && !api.pageCache.has(cacheKey(seen, request)) ? produce() : undefined;
  let state: StoreRevision;
  try {
    state = await reading;
  } catch (err) {
    await early?.catch(() => undefined);
    throw err;
  }
  api.storeRevisionSeen = state;
  let made = early;
  if (early && !sameRevision(seen!, state)) {
    // Read before a change the revision shows: its rows may be older than the revision. Waited
    // for, not left running beside the page read again.
    await early.catch(() => undefined);
    made = undefined;
  }
  const page = () => made ?? produce();
  setFinalUntil(reply, state);
  const closed = state.lastFinalHour !== undefined && floorHour(window.endMs) <= state.lastFinalHour;
  if (!closed) return send(request, reply, type, await page());
  const key = cacheKey(state, request);
  const etag = `"${createHash('sha256').update(`${key}|${api.config.baseUrl}|${api.printer.zone}|${VERSION}`).digest('base64url')}"`;
  const validated = () => reply.header('etag', etag).header('cache-control', CLOSED_CACHE_CONTROL);
  if (etagMatches(request, etag)) return validated().code(304).send('');
  const hit = api.pageCache.get(key);
  if (hit) {
    await made?.catch(() => undefined);
    return validated().type(hit.contentType).send(hit.body);
  }
  request.pageCacheKey = key;
  // The page is made first: a fault answered instead (the store gone mid-request) carries no ETag.
  const body = await page();
  return send(request, validated(), type, body);
}

const cacheKey = (state: StoreRevision, request: FastifyRequest) => `${state.revision}|${request.format}|${request.url}`;

const sameRevision = (a: StoreRevision, b: StoreRevision) => a.revision === b.revision && a.lastFinalHour === b.lastFinalHour;

export const CLOSED_CACHE_CONTROL = 'private, no-cache';

/**
 * Every usage answer says how far its records are final (SPEC 3): those ending at or before the
 * end of the newest final hour change only as exported revisions. A billing system that pulls
 * reads a day once this has passed its end. Always UTC, whatever the display zone; the epoch
 * while no hour is final.
 */
export const FINAL_UNTIL_HEADER = 'x-usage-final-until';

function setFinalUntil(reply: FastifyReply, state: StoreRevision): void {
  const until = state.lastFinalHour === undefined ? 0 : state.lastFinalHour + HOUR_MS;
  reply.header(FINAL_UNTIL_HEADER, new Date(until).toISOString().slice(0, 19) + 'Z');
}

/** The finality header for an answer that is not a cached page (streams, the hour in progress). */
export async function withFinalUntil(api: ApiContext, reply: FastifyReply): Promise<void> {
  setFinalUntil(reply, await storeRevision(api.store.db));
}

export function etagMatches(request: FastifyRequest, etag: string): boolean {
  const asked = request.headers['if-none-match'];
  return !!asked && asked.split(',').some((t) => t.trim() === etag);
}

/**
 * A report written as it is read (query/billing.ts, format/reportStream.ts): chunked, with no
 * length and no ETag. If the store fails mid-way the response is cut off before its closing
 * bytes, so no client can take it for complete.
 */
export function sendStream(request: FastifyRequest, reply: FastifyReply, text: AsyncGenerator<Buffer>) {
  const type = request.format === 'xml' ? 'application/xml; charset=utf-8' : 'application/json; charset=utf-8';
  const body = Readable.from(text, { objectMode: false });
  body.on('error', (err) => {
    request.log.error({ err }, 'report cut off: the store failed while it was streamed');
    reply.raw.destroy(err);
  });
  return reply.type(type).send(body);
}

/** The response part of a route schema: the JSON form of a response type. */
export function responds(type: ResponseType) {
  return { 200: responseSchema(type) };
}
