// Parameters shared by the read endpoints: their schemas (for validation and the API docs) and
// the rules that turn them into values, with messages that say what to fix.

import { parseTime, ACCEPTED_TIME_FORMS, DAY_MS } from '../domain/time.ts';
import { badRequest, overLimit, shown } from './faults.ts';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 500;

const positiveId = (description: string) => ({ type: 'string', pattern: '^[1-9][0-9]{0,14}$', description });

/** What each parameter expects, in the words a fault message uses. */
export const PARAM_RULES: Record<string, string> = {
  accountId: 'expected a positive whole number',
  loadBalancerId: 'expected a positive whole number',
  clusterId: 'expected a positive whole number',
  hostId: 'expected a positive whole number',
  recordId: 'expected a positive whole number',
  anomalyId: 'expected a positive whole number',
  offset: 'expected a whole number of at least 0',
  limit: `expected a whole number from 1 to ${MAX_LIMIT}`,
  startTime: `expected ${ACCEPTED_TIME_FORMS}`,
  endTime: `expected ${ACCEPTED_TIME_FORMS}`,
  top: 'expected a whole number from 1 to 100',
};

export const pathSchemas = {
  accountId: positiveId('Account (tenant) id'),
  loadBalancerId: positiveId('Load balancer id'),
  clusterId: positiveId('Cluster id'),
  hostId: positiveId('Host id'),
  anomalyId: positiveId('Anomaly id'),
  recordId: positiveId('Usage record id'),
};

const timeParam = (description: string) => ({ type: 'string', maxLength: 64, description });
export const querySchemas = {
  startTime: timeParam(`Start of the window: ${ACCEPTED_TIME_FORMS}; no zone means UTC`),
  endTime: timeParam(`End of the window: ${ACCEPTED_TIME_FORMS}; no zone means UTC`),
  offset: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'Rows to skip (default 0)' },
  // No length cap: any whole number above the maximum, however long, is 413 (parsePaging); the
  // request line's own limit bounds it.
  limit: { type: 'string', pattern: '^[0-9]+$', description: `Rows per page (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})` },
};

export const windowQuery = (required: boolean) => ({
  type: 'object',
  properties: { startTime: querySchemas.startTime, endTime: querySchemas.endTime },
  ...(required ? { required: ['startTime', 'endTime'] } : {}),
});

export const pagedWindowQuery = (required: boolean) => ({
  type: 'object',
  properties: querySchemas,
  ...(required ? { required: ['startTime', 'endTime'] } : {}),
});

export function parseTimeParam(name: string, value: string): number {
  const parsed = parseTime(value);
  if (!parsed.ok) throw badRequest(`${name}: ${parsed.reason}, received ${shown(value)}`);
  return parsed.ms;
}

export interface Paging {
  offset: number;
  limit: number;
}

export function parsePaging(q: { offset?: string; limit?: string }): Paging {
  const offset = q.offset === undefined ? 0 : Number(q.offset);
  if (!Number.isSafeInteger(offset)) throw badRequest(`offset: ${PARAM_RULES.offset}, received ${shown(q.offset)}`);
  // Any whole number above the maximum, however large, is "above the allowed limit" (413).
  if (q.limit !== undefined && /^[0-9]+$/.test(q.limit) && BigInt(q.limit) > BigInt(MAX_LIMIT)) {
    throw overLimit('the number of items returned is above the allowed limit', `limit: at most ${MAX_LIMIT}, received ${shown(q.limit)}`);
  }
  const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
  if (!Number.isSafeInteger(limit) || limit < 1) throw badRequest(`limit: ${PARAM_RULES.limit}, received ${shown(q.limit)}`);
  return { offset, limit };
}

export interface Window {
  startMs: number;
  endMs: number;
}

export function requiredWindow(q: { startTime?: string; endTime?: string }, maxMs?: number): Window {
  if (q.startTime === undefined) throw badRequest('startTime: required');
  if (q.endTime === undefined) throw badRequest('endTime: required');
  return checkedWindow(parseTimeParam('startTime', q.startTime), parseTimeParam('endTime', q.endTime), maxMs);
}

/** A window with defaults: only start runs to now; only end goes back `backMs`; neither is the last `defaultMs`. */
export function optionalWindow(q: { startTime?: string; endTime?: string }, nowMs: number, defaultMs: number, backMs = 90 * DAY_MS): Window {
  const start = q.startTime === undefined ? undefined : parseTimeParam('startTime', q.startTime);
  const end = q.endTime === undefined ? undefined : parseTimeParam('endTime', q.endTime);
  if (start === undefined && end === undefined) return { startMs: nowMs - defaultMs, endMs: nowMs };
  if (end === undefined) return checkedWindow(start!, Math.max(nowMs, start!));
  if (start === undefined) return { startMs: end - backMs, endMs: end };
  return checkedWindow(start, end);
}

/** Bounds that filter (a list of anomalies, say): either may be absent; when both are given, in order. */
export function timeBounds(q: { startTime?: string; endTime?: string }): { fromMs?: number; toMs?: number } {
  const fromMs = q.startTime === undefined ? undefined : parseTimeParam('startTime', q.startTime);
  const toMs = q.endTime === undefined ? undefined : parseTimeParam('endTime', q.endTime);
  if (fromMs !== undefined && toMs !== undefined) checkedWindow(fromMs, toMs);
  return { fromMs, toMs };
}

function checkedWindow(startMs: number, endMs: number, maxMs?: number): Window {
  if (startMs > endMs) throw badRequest('startTime: must not be after endTime');
  if (maxMs !== undefined && endMs - startMs > maxMs) {
    throw badRequest(`endTime: the window may span at most ${maxMs / 3_600_000} hours`, `received a window of ${((endMs - startMs) / 3_600_000).toFixed(2)} hours`);
  }
  return { startMs, endMs };
}
