#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: a young generation of 4 MB instead of 16, 30 MB less memory for
// `serve` (see src/memory.ts and the README's Performance section for what it costs). V8 takes
// it only on the command line, so `node bin/lbmeter.js` runs without it.
// Runs the compiled build (npm run build; the installed package has nothing else) while it is
// newer than every source file; otherwise, in a checkout, the TypeScript sources directly through
// tsx (a development dependency), so a checkout needs no build step.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/.built`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let main;
const sources = `${root}src`;
if (!existsSync(sources) || (existsSync(built) && statSync(built).mtimeMs >= newestSource(sources))) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
