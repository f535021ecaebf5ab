// `npm run build`: the TypeScript sources compiled to dist/ (with the dashboard's files), so
// production runs plain JavaScript: no transpiler in the process, about 50 MB less memory.
// bin/lbmeter.js uses dist/ while it is newer than every source file.

import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
cpSync('src/dashboard/public', 'dist/dashboard/public', { recursive: true });
// The commit the build is made from, for lbmeter --version (src/version.ts).
writeFileSync('dist/build.json', JSON.stringify({ commit: commitOfCheckout() }) + '\n');
writeFileSync('dist/.built', new Date().toISOString() + '\n');

function commitOfCheckout() {
  try {
    const git = (args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git(['rev-parse', '--short=12', 'HEAD']);
    return git(['status', '--porcelain', '--untracked-files=no']) ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}
