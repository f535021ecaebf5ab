// API tokens: stored as SHA-256 hashes (tokens are 256 random bits, so a slow hash adds nothing).

import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './store.ts';
import { num, optNum } from './rows.ts';

export const ROLES = ['support', 'service-admin', 'billing'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenRecord {
  id: number;
  roles: Role[];
  accountId?: number;
  label: string;
  createdMs: number;
  expiresMs?: number;
  revokedMs?: number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newTokenValue(): string {
  return 'lbm_' + randomBytes(32).toString('base64url');
}

export interface NewToken {
  roles: Role[];
  accountId?: number;
  label?: string;
  expiresMs?: number;
  /** A chosen value (the bootstrap token); otherwise a random one is made. */
  value?: string;
}

export async function createToken(db: Db, t: NewToken, nowMs = Date.now()): Promise<{ id: number; value: string }> {
  const value = t.value ?? newTokenValue();
  const row = await db.insertInto('tokens').values({
    token_hash: hashToken(value),
    roles: t.roles.join(','),
    account_id: t.accountId ?? null,
    label: t.label ?? '',
    created_ms: nowMs,
    expires_ms: t.expiresMs ?? null,
    revoked_ms: null,
  }).returning('id').executeTakeFirstOrThrow();
  return { id: num(row.id), value };
}

export async function findTokenByValue(db: Db, value: string): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('tokens').selectAll().where('token_hash', '=', hashToken(value)).executeTakeFirst();
  return row && toToken(row);
}

export async function listTokens(db: Db): Promise<TokenRecord[]> {
  const rows = await db.selectFrom('tokens').selectAll().orderBy('id').execute();
  return rows.map(toToken);
}

export async function countTokens(db: Db): Promise<number> {
  const row = await db.selectFrom('tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return num(row.n as number);
}

export async function revokeToken(db: Db, id: number, nowMs = Date.now()): Promise<boolean> {
  const r = await db.updateTable('tokens').set({ revoked_ms: nowMs }).where('id', '=', id).where('revoked_ms', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

function toToken(row: any): TokenRecord {
  const t: TokenRecord = {
    id: num(row.id),
    roles: row.roles ? (row.roles.split(',') as Role[]) : [],
    label: row.label,
    createdMs: num(row.created_ms),
  };
  const accountId = optNum(row.account_id);
  if (accountId !== undefined) t.accountId = accountId;
  const expiresMs = optNum(row.expires_ms);
  if (expiresMs !== undefined) t.expiresMs = expiresMs;
  const revokedMs = optNum(row.revoked_ms);
  if (revokedMs !== undefined) t.revokedMs = revokedMs;
  return t;
}
