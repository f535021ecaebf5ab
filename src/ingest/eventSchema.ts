// The lifecycle events a provisioning system sends (SPEC 4): the body of POST
// /management/usage/events, and of each message lbmeter consumes from a bus (ingest/busEvents.ts).
// One schema for both, so a message is held to what the API holds a request to.

import { EVENT_TYPES, LB_STATUSES, SSL_MODES, VIP_TYPES, IP_VERSIONS } from '../domain/types.ts';

/** An id of the write API: a positive whole number a double holds exactly. */
export const id = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
/** A time as sent, parsed by the validation after the schema (ingestValidation.ts). */
export const timeText = { type: 'string', maxLength: 64 };
const virtualIp = {
  type: 'object', additionalProperties: false, required: ['id', 'address', 'ipVersion', 'type'],
  properties: { id, address: { type: 'string', maxLength: 64 }, ipVersion: { enum: IP_VERSIONS }, type: { enum: VIP_TYPES } },
};
export const EVENTS_BODY_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['events'],
  properties: {
    events: {
      type: 'array', minItems: 1, maxItems: 10_000,
      items: {
        type: 'object', additionalProperties: false, required: ['id', 'type', 'time', 'accountId', 'loadBalancerId'],
        properties: {
          id: { type: 'string', minLength: 1, maxLength: 128 },
          type: { enum: EVENT_TYPES },
          time: timeText,
          accountId: id,
          loadBalancerId: id,
          loadBalancer: {
            type: 'object', additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 128 },
              protocol: { type: 'string', pattern: '^[A-Z0-9_]{1,32}$' },
              clusterId: id,
              status: { enum: LB_STATUSES },
              sslMode: { enum: SSL_MODES },
              virtualIps: { type: 'array', maxItems: 64, items: virtualIp },
            },
          },
        },
      },
    },
  },
};
