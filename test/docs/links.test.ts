// The front door (issue 23): the README is one page a newcomer reads (under 150 lines), and every
// link in it and in docs/ leads somewhere: the file exists, and an #anchor names a heading of it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const pages = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

test('the README is a front door: under 150 lines, the two commands first', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n').length;
  assert.ok(lines < 150, `README.md has ${lines} lines`);
  assert.match(readme, /^# lbmeter\n\n[\s\S]{0,600}```sh\nnpm install && npx lbmeter serve --demo .*\nscripts\/test\.sh .*\n```/);
});

test('every relative link of the README, the CHANGELOG and docs/ leads to a file, and its anchor to a heading', () => {
  let checked = 0;
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // http(s), mailto: not ours to check offline
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path ? resolve(dirname(join(ROOT, page)), path) : join(ROOT, page);
      assert.ok(existsSync(file), `${page}: ${target} leads nowhere`);
      if (anchor) {
        assert.ok(statSync(file).isFile() && file.endsWith('.md'), `${page}: ${target}: an anchor into a non-Markdown file`);
        assert.ok(anchorsOf(file).has(anchor), `${page}: ${target}: no heading #${anchor} in ${path || page}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 15, `${checked} links checked`);
});
