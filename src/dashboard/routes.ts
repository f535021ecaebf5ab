// The dashboard for support and billing staff, served by the same process from files in
// public/ and Chart.js's own browser build: nothing to build, nothing to run beside lbmeter.
// The page holds no data; it signs in with a token and reads the API like any client.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { OPEN } from '../api/auth.ts';

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');

const FILES: [url: string, file: string, type: string][] = [
  ['/dashboard', join(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8'],
  ['/dashboard/app.js', join(PUBLIC_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
  ['/dashboard/style.css', join(PUBLIC_DIR, 'style.css'), 'text/css; charset=utf-8'],
  ['/dashboard/vendor/chart.umd.js', CHART_JS, 'text/javascript; charset=utf-8'],
];

export function registerDashboard(app: FastifyInstance): void {
  // Whoever opens the server's address in a browser lands on the dashboard, not a JSON 404.
  app.route({
    method: 'GET',
    url: '/',
    config: { access: OPEN, ownMediaType: true },
    schema: { hide: true },
    handler: async (_request, reply) => reply.redirect('/dashboard', 302),
  });
  for (const [url, file, type] of FILES) {
    const content = readFileSync(file);
    app.route({
      method: 'GET',
      url,
      config: { access: OPEN, ownMediaType: true },
      schema: { hide: true },
      handler: async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(content),
    });
  }
}
