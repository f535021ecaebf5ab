#!/usr/bin/env bash
# Installs what the tests need on a fresh machine (HAProxy and Chromium from Debian, the npm
# packages), then runs the type check and every test. PostgreSQL is expected at 127.0.0.1:5432 (database test,
# user postgres); without it the PostgreSQL suites are skipped with the reason printed, unless
# REQUIRE_POSTGRES=1 (as in CI), where that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# HAProxy is the data plane of the end-to-end tests; faketime runs a poller with a skewed clock;
# Chromium drives the dashboard test; xmllint validates every XML answer against docs/xsd;
# nats-server runs the JetStream servers the bus tests start;
# systemd-analyze and promtool (Debian's prometheus, without the exporters it recommends)
# check the units and alert rules in deploy/.
export DEBIAN_FRONTEND=noninteractive
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
lean=()
command -v promtool >/dev/null 2>&1 || lean+=(prometheus)
if [ ${#missing[@]} -gt 0 ] || [ ${#lean[@]} -gt 0 ]; then
  echo "installing ${missing[*]} ${lean[*]} (Debian packages)"
  sudo_if_needed apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
  [ ${#lean[@]} -eq 0 ] || sudo_if_needed apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run typecheck
npm test
