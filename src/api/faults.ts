// The fault table of SPEC 2.4. Every error leaves the API as one of these, each an element the
// published schema of the system the seeds document declares (a strict XML client reads every
// one): a refused role and an unacceptable media type are a generalFault with their code.

export const FAULT_KINDS = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'generalFault',
  404: 'itemNotFound',
  405: 'methodNotAllowed',
  406: 'generalFault',
  413: 'overLimit',
  500: 'loadBalancerFault',
  503: 'serviceUnavailable',
} as const;
export type FaultStatus = keyof typeof FAULT_KINDS;

export class ApiFault extends Error {
  constructor(
    readonly status: FaultStatus,
    message: string,
    readonly details?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  get kind(): string {
    return FAULT_KINDS[this.status];
  }
}

export const badRequest = (message: string, details?: string) => new ApiFault(400, message, details);
export const notFound = (message: string) => new ApiFault(404, message);
export const unauthorized = (message: string) => new ApiFault(401, message);
export const forbidden = (message: string) => new ApiFault(403, message);
export const overLimit = (message: string, details?: string, retryAfterSeconds?: number) =>
  new ApiFault(413, message, details, retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) });
export const serviceUnavailable = (message: string, retryAfterSeconds = 5) =>
  new ApiFault(503, message, undefined, { 'retry-after': String(retryAfterSeconds) });

/** A received value, quoted and cut, safe to put into any message. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const cut = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return JSON.stringify(cut);
}
