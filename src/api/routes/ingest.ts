// The write side of usage (SPEC 4): events, pushed samples, rollup on demand, anomalies.

import type { RouteModule } from './index.ts';
import { SUPPORT, WRITE } from '../auth.ts';
import { EVENTS_BODY_SCHEMA, id, timeText } from '../../ingest/eventSchema.ts';
import { validateEvents, validateSample, type EventInput, type SampleInput } from '../ingestValidation.ts';
import { ingestEvents } from '../../ingest/events.ts';
import { COUNTERS_CLEARED, ingestSample, meteredOf } from '../../ingest/samples.ts';
import { runRollup } from '../../jobs/rollup.ts';
import { pollHosts } from '../../ingest/poller.ts';
import type { FastifyRequest } from 'fastify';
import { ANOMALY_KINDS, listAnomalies, type Anomaly, type AnomalyKind, type AnomalyStatus } from '../../store/anomalies.ts';
import { CorrectionRefused, discardAnomaly, releaseAnomaly } from '../../usage/corrections.ts';
import { badRequest, notFound } from '../faults.ts';
import { MAX_LIMIT, parsePaging, pathSchemas, querySchemas, timeBounds } from '../params.ts';

// Counters above 2^53 cannot travel as JSON numbers exactly: send them as decimal strings.
const counter = { anyOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { type: 'string', pattern: '^[0-9]{1,20}$' }] };
const gauge = { type: 'integer', minimum: 0, maximum: 2_147_483_647 };

const sampleBody = {
  type: 'object', additionalProperties: false, required: ['hostId', 'time', 'process', 'loadBalancers'],
  properties: {
    hostId: id,
    time: timeText,
    process: {
      type: 'object', additionalProperties: false, required: ['pid', 'startTime'],
      properties: { pid: { type: 'integer', minimum: 0, maximum: 2_147_483_647 }, startTime: timeText },
    },
    loadBalancers: {
      type: 'array', maxItems: 1_000_000,
      items: {
        type: 'object', additionalProperties: false,
        required: ['accountId', 'loadBalancerId', 'bytesIn', 'bytesOut', 'bytesInSsl', 'bytesOutSsl', 'connections', 'connectionsSsl'],
        properties: {
          accountId: id, loadBalancerId: id, bytesIn: counter, bytesOut: counter, bytesInSsl: counter, bytesOutSsl: counter,
          connections: gauge, connectionsSsl: gauge,
        },
      },
    },
  },
};

const decimal = { type: 'string', pattern: '^[0-9]+$' };
const anomalySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, kind: { type: 'string' }, time: { type: 'string' }, loadBalancerId: { type: 'integer' },
    hostId: { type: 'integer' }, detail: { type: 'string' }, status: { type: 'string' }, resolvedTime: { type: 'string' }, eventId: { type: 'string' },
    /** Final records a release changed (exported again as new revisions). */
    revisedRecords: { type: 'integer' },
    // Decimal strings: a held delta may exceed what a JSON number carries exactly.
    held: { type: 'object', properties: { bytesIn: decimal, bytesOut: decimal, bytesInSsl: decimal, bytesOutSsl: decimal } },
  },
};

/** A host of 100k load balancers pushes some 20 MB of JSON; room for three times that. */
const SAMPLE_BODY_LIMIT = 64 * 2 ** 20;
/** A provisioning system's batch of events (thousands of load balancers with their VIPs). */
const EVENTS_BODY_LIMIT = 16 * 2 ** 20;

function anomalyView(a: Anomaly, print: (ms: number) => string) {
  return {
    id: a.id, kind: a.kind, time: print(a.timeMs), loadBalancerId: a.loadBalancerId, hostId: a.hostId, detail: a.detail, status: a.status, eventId: a.eventId,
    ...(a.resolvedMs !== undefined ? { resolvedTime: print(a.resolvedMs) } : {}),
    ...(a.held ? { held: { bytesIn: String(a.held.bytesIn), bytesOut: String(a.held.bytesOut), bytesInSsl: String(a.held.bytesInSsl), bytesOutSsl: String(a.held.bytesOutSsl) } } : {}),
  };
}

export const ingestRoutes: RouteModule = (api) => [
  {
    method: 'POST', url: '/management/usage/events', config: { access: WRITE, jsonOnly: true }, bodyLimit: EVENTS_BODY_LIMIT,
    schema: {
      summary: 'Lifecycle events, idempotent by id; a batch is all or nothing',
      body: EVENTS_BODY_SCHEMA,
      response: { 200: { type: 'object', properties: { accepted: { type: 'integer' }, duplicates: { type: 'integer' } } } },
    },
    handler: async (request) => {
      const events = await validateEvents(api.store.db, (request.body as { events: EventInput[] }).events, api.now());
      const result = await ingestEvents(api.store, events, api.now());
      if (result.held) request.log.warn({ held: result.held }, 'events for final hours held as anomalies');
      return result;
    },
  },
  {
    method: 'POST', url: '/management/usage/samples', config: { access: WRITE, jsonOnly: true }, bodyLimit: SAMPLE_BODY_LIMIT,
    schema: {
      summary: 'Cumulative counters of one host pushed by an agent; processed exactly like a poll',
      body: sampleBody,
      response: {
        200: {
          type: 'object',
          properties: {
            duplicate: { type: 'boolean' }, deltas: { type: 'integer' }, held: { type: 'integer' },
            bytes: { type: 'object', properties: { in: { type: 'string' }, out: { type: 'string' }, inSsl: { type: 'string' }, outSsl: { type: 'string' } } },
          },
        },
      },
    },
    handler: async (request) => {
      const sample = await validateSample(api.store.db, request.body as SampleInput, api.now());
      const r = await ingestSample(api.store, sample, { deltaCeiling: api.config.deltaCeiling, nowMs: api.now() });
      if (!r.duplicate) api.metrics.observeIntake('push', sample.hostId, sample.loadBalancers.length, meteredOf(r), r.cleared);
      if (r.held) request.log.warn({ hostId: sample.hostId, held: r.held }, 'readings held as anomalies');
      if (r.cleared) request.log.warn({ hostId: sample.hostId, loadBalancers: r.cleared }, COUNTERS_CLEARED);
      return { ...r, bytes: { in: String(r.bytes.in), out: String(r.bytes.out), inSsl: String(r.bytes.inSsl), outSsl: String(r.bytes.outSsl) } };
    },
  },
  {
    method: 'POST', url: '/management/usage/poll', config: { access: WRITE, jsonOnly: true },
    schema: {
      summary: 'Polls every host with a stats source now (or only hostIds: the pre-reload hook) and answers what it read from each',
      body: { type: ['object', 'null'], additionalProperties: false, properties: { hostIds: { type: 'array', maxItems: 10_000, items: id } } },
      response: {
        200: {
          type: 'object',
          properties: {
            time: { type: 'string' },
            hosts: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  hostId: { type: 'integer' }, name: { type: 'string' }, ok: { type: 'boolean' }, error: { type: 'string' },
                  loadBalancers: { type: 'integer' }, durationMs: { type: 'integer' }, duplicate: { type: 'boolean' }, busy: { type: 'boolean' },
                },
              },
            },
          },
        },
      },
    },
    handler: async (request) => {
      const nowMs = api.now();
      const hostIds = (request.body as { hostIds?: number[] } | null)?.hostIds;
      // Named hosts are read now even if a poller is reading them (the pre-reload hook over HTTP).
      const hosts = await pollHosts(api.store, {
        timeoutMs: api.config.pollTimeoutMs, deltaCeiling: api.config.deltaCeiling, hostIds, waitForBusyHosts: !!hostIds, ...(api.clockGiven ? { nowMs } : {}),
      });
      api.metrics.observePolls(hosts);
      return { time: api.printer.print(nowMs), hosts };
    },
  },
  {
    method: 'POST', url: '/management/usage/rollup', config: { access: WRITE, jsonOnly: true },
    schema: {
      summary: 'Closes every hour that has ended now',
      response: {
        200: { type: 'object', properties: { hoursRolled: { type: 'integer' }, hoursFinalized: { type: 'integer' }, records: { type: 'integer' }, busy: { type: 'boolean' } } },
      },
    },
    // Waits briefly for a rollup running elsewhere; `busy` says it is still running there.
    handler: async () => runRollup(api.store, { nowMs: api.now(), graceMs: api.config.graceMs, waitMs: 20_000 }),
  },
  {
    method: 'GET', url: '/management/usage/anomalies', config: { access: SUPPORT, jsonOnly: true },
    schema: {
      summary: 'Data held for an operator instead of being billed: deltas above the ceiling, late samples and events',
      description: `Oldest first, at most \`limit\` (default and most ${MAX_LIMIT}); \`truncated\` says more match. startTime and endTime bound the time of the held data.`,
      // Parameters it does not take are ignored, as on every endpoint (docs/decisions.md).
      querystring: {
        type: 'object',
        properties: {
          status: { enum: ['HELD', 'RELEASED', 'DISCARDED'] }, kind: { enum: [...ANOMALY_KINDS] },
          startTime: querySchemas.startTime, endTime: querySchemas.endTime, limit: querySchemas.limit,
        },
      },
      response: { 200: { type: 'object', properties: { anomalies: { type: 'array', items: anomalySchema }, truncated: { type: 'boolean' } } } },
    },
    handler: async (request) => {
      const q = request.query as { status?: AnomalyStatus; kind?: AnomalyKind; startTime?: string; endTime?: string; limit?: string };
      const limit = parsePaging({ limit: q.limit ?? String(MAX_LIMIT) }).limit;
      const found = await listAnomalies(api.store.db, { status: q.status, kind: q.kind, limit: limit + 1, ...timeBounds(q) });
      return { anomalies: found.slice(0, limit).map((a) => anomalyView(a, (ms) => api.printer.print(ms))), truncated: found.length > limit };
    },
  },
  ...(['release', 'discard'] as const).map((decision) => ({
    method: 'POST' as const, url: `/management/usage/anomalies/:anomalyId/${decision}`, config: { access: WRITE, jsonOnly: true },
    schema: {
      summary: decision === 'release'
        ? 'Bills a held delta in the record its reading belongs to (a correction of a final record that is not exported yet)'
        : 'Leaves held data unbilled, and records that an operator decided so',
      params: { type: 'object', properties: { anomalyId: pathSchemas.anomalyId }, required: ['anomalyId'] },
      response: { 200: anomalySchema },
    },
    handler: async (request: FastifyRequest) => {
      const id = Number((request.params as { anomalyId: string }).anomalyId);
      try {
        const decided = decision === 'release' ? await releaseAnomaly(api.store, id, api.now()) : await discardAnomaly(api.store, id, api.now());
        request.log.info({ anomaly: decided.anomaly.id, kind: decided.anomaly.kind, decision: decided.anomaly.status, revisedRecords: decided.revised }, `anomaly ${decision}d`);
        return { ...anomalyView(decided.anomaly, (ms) => api.printer.print(ms)), revisedRecords: decided.revised };
      } catch (err) {
        if (err instanceof CorrectionRefused) throw err.notFound ? notFound(err.message) : badRequest(err.message);
        throw err;
      }
    },
  })),
];
