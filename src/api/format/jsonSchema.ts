// JSON response schemas derived from the shapes; Fastify compiles them into fast serializers.

import type { Shape, FieldKind, Link, ResponseType } from './shape.ts';

const TYPES: Record<FieldKind, string> = { int: 'integer', bigint: 'integer', decimal: 'number', string: 'string', boolean: 'boolean' };

export const linksSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      link: {
        type: 'object',
        properties: {
          otherAttributes: { type: 'object', additionalProperties: false, properties: {} },
          href: { type: 'string' },
          rel: { type: 'string' },
        },
        required: ['otherAttributes', 'href', 'rel'],
      },
    },
    required: ['link'],
  },
};

export function shapeSchema(shape: Shape): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const field of shape.attrs) {
    properties[field.name] = { type: TYPES[field.kind] };
    if (!field.optional) required.push(field.name);
  }
  for (const child of shape.children) {
    const item = shapeSchema(child.shape);
    properties[child.json] = child.many ? { type: 'array', items: item } : item;
    if (!child.optional) required.push(child.json);
  }
  if (shape.links) {
    properties.links = linksSchema;
    required.push('links');
  }
  return { type: 'object', properties, required };
}

export function responseSchema(type: ResponseType): Record<string, unknown> {
  return shapeSchema(type.shape);
}

/** Paging links in the seeds' JSON form. */
export function jsonLinks(links: Link[]) {
  return links.map((l) => ({ link: { otherAttributes: {}, href: l.href, rel: l.rel } }));
}
