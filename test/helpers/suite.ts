// Runs one suite per store engine, each on a fresh store and a real API on loopback.

import { describe, before, after } from 'node:test';
import { engines } from './engines.ts';
import { startApi, type TestApi } from './api.ts';

const available = await engines();

export function forEachEngine(title: string, body: (ctx: { api: () => TestApi; engine: string }) => void, options: { env?: Record<string, string>; nowMs?: number } = {}) {
  for (const { fixture, skip } of available) {
    describe(`${title} [${fixture.name}]`, { skip }, () => {
      let api: TestApi;
      before(async () => {
        api = await startApi(await fixture.create(), options);
      });
      after(async () => {
        await api?.close();
        await fixture.cleanup();
      });
      body({ api: () => api, engine: fixture.name });
    });
  }
}
