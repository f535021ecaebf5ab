// Tokens and the role matrix (SPEC 2.5).

import type { FastifyRequest } from 'fastify';
import type { Store } from '../store/store.ts';
import { findTokenByValue, type Role, type TokenRecord } from '../store/tokens.ts';
import { forbidden, unauthorized } from './faults.ts';

/**
 * open: no token (health, docs). public: a tenant token of the account in the path, or any
 * management token. roles: a management token with one of these roles.
 */
export type Access = { kind: 'open' } | { kind: 'public' } | { kind: 'roles'; roles: Role[] };

export const READ_ALL: Access = { kind: 'roles', roles: ['support', 'service-admin', 'billing'] };
export const SUPPORT: Access = { kind: 'roles', roles: ['support', 'service-admin'] };
export const WRITE: Access = { kind: 'roles', roles: ['service-admin'] };
export const PUBLIC: Access = { kind: 'public' };
export const OPEN: Access = { kind: 'open' };

/**
 * Tokens found in the store, remembered for a few seconds: every request otherwise paid a round
 * trip to the store before its own queries (a quarter of a millisecond on PostgreSQL beside a
 * 1000-record page's four). So a token revoked (`lbmeter token revoke`, another process) is
 * refused by every process within TOKEN_MEMORY_MS; its expiry is checked at each request.
 * Values the store does not know are never remembered: a token just created works at once.
 */
export const TOKEN_MEMORY_MS = 5_000;

export class KnownTokens {
  private readonly tokens = new Map<string, { token: TokenRecord; until: number }>();

  constructor(private readonly memoryMs = TOKEN_MEMORY_MS, private readonly capacity = 10_000) {}

  async find(store: Store, value: string): Promise<TokenRecord | undefined> {
    const now = Date.now();
    const known = this.tokens.get(value);
    if (known && known.until > now) return known.token;
    const token = await findTokenByValue(store.db, value);
    this.tokens.delete(value);
    if (token && token.revokedMs === undefined) {
      if (this.tokens.size >= this.capacity) this.tokens.delete(this.tokens.keys().next().value!);
      this.tokens.set(value, { token, until: now + this.memoryMs });
    }
    return token;
  }
}

/** The caller's token, checked to be known, not revoked and not expired (401 otherwise). */
export async function authenticate(store: Store, known: KnownTokens, request: FastifyRequest, nowMs = Date.now()): Promise<TokenRecord> {
  const header = request.headers['x-auth-token'];
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) throw unauthorized('X-Auth-Token header required');
  const token = value.length <= 256 ? await known.find(store, value) : undefined;
  if (!token) throw unauthorized('X-Auth-Token is not a known token');
  if (token.revokedMs !== undefined) throw unauthorized('X-Auth-Token has been revoked');
  if (token.expiresMs !== undefined && token.expiresMs <= nowMs) throw unauthorized('X-Auth-Token has expired');
  return token;
}

/** Whether a known token may do what the route declares (403 otherwise). */
export function authorize(token: TokenRecord, request: FastifyRequest, access: Exclude<Access, { kind: 'open' }>): void {
  const isManagement = token.roles.length > 0;
  if (access.kind === 'public') {
    const accountId = Number((request.params as { accountId?: string }).accountId);
    if (!isManagement && token.accountId !== accountId) throw forbidden('this token may only read its own account');
    return;
  }
  if (!token.roles.some((r) => access.roles.includes(r))) {
    throw forbidden(`this operation needs one of the roles ${access.roles.join(', ')}`);
  }
}
