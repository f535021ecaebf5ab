// Sending a response in the negotiated format from one value and its response type.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { toXml } from './format/xml.ts';
import type { ResponseType } from './format/shape.ts';
import { responseSchema } from './format/jsonSchema.ts';
import type { Format } from './negotiate.ts';

declare module 'fastify' {
  interface FastifyRequest {
    format: Format;
  }
}

export function send(request: FastifyRequest, reply: FastifyReply, type: ResponseType, value: Record<string, unknown>) {
  if (request.format === 'xml') {
    return reply.type('application/xml; charset=utf-8').send(toXml(type, value));
  }
  return reply.type('application/json; charset=utf-8').send(value);
}

/** The response part of a route schema: the JSON form of a response type. */
export function responds(type: ResponseType) {
  return { 200: responseSchema(type) };
}
