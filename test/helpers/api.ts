// A real lbmeter API on a loopback port over a fresh store, with a token for every role.

import pino from 'pino';
import { openStore, type Store } from '../../src/store/store.ts';
import { buildApp, type ApiContext } from '../../src/api/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createToken } from '../../src/store/tokens.ts';
import type { FastifyInstance } from 'fastify';

export interface TestApi {
  url: string;
  store: Store;
  app: FastifyInstance;
  api: ApiContext;
  config: Config;
  clock: { now: number };
  tokens: { support: string; admin: string; billing: string; all: string };
  /** A tenant token for an account (made on first use). */
  tenant(accountId: number): Promise<string>;
  get(path: string, options?: { token?: string | null; accept?: string; headers?: Record<string, string> }): Promise<Response>;
  send(method: string, path: string, body: unknown, options?: { token?: string | null; contentType?: string; raw?: boolean }): Promise<Response>;
  close(): Promise<void>;
}

export async function startApi(location: string, options: { env?: Record<string, string>; nowMs?: number } = {}): Promise<TestApi> {
  const config = loadConfig({ LBMETER_DB: location, LBMETER_PORT: '0', LBMETER_RATE_LIMIT: '0', ...options.env });
  const store = await openStore(location);
  const clock = { now: options.nowMs ?? Date.now() };
  const logger = pino({ level: process.env.LBMETER_TEST_LOG ?? 'silent' });
  const { app, api } = await buildApp({ store, config, logger, now: () => clock.now });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  api.config.baseUrl = config.baseUrl = options.env?.LBMETER_BASE_URL ?? url;
  const tokens = {
    support: (await createToken(store.db, { roles: ['support'] })).value,
    admin: (await createToken(store.db, { roles: ['service-admin'] })).value,
    billing: (await createToken(store.db, { roles: ['billing'] })).value,
    all: (await createToken(store.db, { roles: ['support', 'service-admin', 'billing'] })).value,
  };
  const tenants = new Map<number, string>();
  return {
    url, store, app, api, config, clock, tokens,
    async tenant(accountId) {
      if (!tenants.has(accountId)) tenants.set(accountId, (await createToken(store.db, { roles: [], accountId })).value);
      return tenants.get(accountId)!;
    },
    get(path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? tokens.all : o.token;
      if (token !== null) headers['x-auth-token'] = token;
      if (o.accept !== undefined) headers.accept = o.accept;
      return fetch(url + path, { headers });
    },
    send(method, path, body, o = {}) {
      const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/json' };
      const token = o.token === undefined ? tokens.admin : o.token;
      if (token !== null) headers['x-auth-token'] = token;
      return fetch(url + path, { method, headers, body: o.raw ? (body as string) : JSON.stringify(body) });
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}
