// Sending a response in the negotiated format from one value and its response type.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { toXml } from './format/xml.ts';
import type { ResponseType } from './format/shape.ts';
import { responseSchema } from './format/jsonSchema.ts';
import type { Format } from './negotiate.ts';
import { floorHour, HOUR_MS } from '../domain/time.ts';

declare module 'fastify' {
  interface FastifyRequest {
    format: Format;
    /** The answer can only change by an operator's correction: give it an ETag (app.ts). */
    closedWindow?: boolean;
  }
}

/** Every hour the window touches is final: past its end and the grace period. */
export function isClosedWindow(window: { endMs: number }, nowMs: number, graceMs: number): boolean {
  return floorHour(window.endMs) + HOUR_MS + graceMs <= nowMs;
}

export function send(request: FastifyRequest, reply: FastifyReply, type: ResponseType, value: Record<string, unknown>, options: { closedWindow?: boolean } = {}) {
  if (options.closedWindow) request.closedWindow = true;
  if (request.format === 'xml') {
    return reply.type('application/xml; charset=utf-8').send(toXml(type, value));
  }
  return reply.type('application/json; charset=utf-8').send(value);
}

/** The response part of a route schema: the JSON form of a response type. */
export function responds(type: ResponseType) {
  return { 200: responseSchema(type) };
}
