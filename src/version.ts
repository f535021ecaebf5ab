// The version of lbmeter, from package.json, and the commit it was built from: written into
// dist/build.json by npm run build (so the installed package knows it), read from git in a
// checkout. Two builds of one version (a fix between releases) are then told apart.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

let commit: string | undefined;

/** The commit, with `-dirty` for a checkout with changes; `unknown` outside git without a build file. */
export function buildCommit(): string {
  commit ??= builtCommit() ?? checkoutCommit() ?? 'unknown';
  return commit;
}

function builtCommit(): string | undefined {
  const file = new URL('./build.json', import.meta.url);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { commit?: string }).commit : undefined;
}

function checkoutCommit(): string | undefined {
  const root = new URL('..', import.meta.url).pathname;
  try {
    const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    const head = git(['rev-parse', '--short=12', 'HEAD']);
    return git(['status', '--porcelain', '--untracked-files=no']) ? `${head}-dirty` : head;
  } catch {
    return undefined; // no git, or not a checkout
  }
}
