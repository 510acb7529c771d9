#!/usr/bin/env bash
# Runs every test suite: typecheck, vitest (node, workerd, chromium projects), Deno and Bun.
# Installs what the tests need beyond npm (Debian's chromium) when it is missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (apt-get) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is required for the browser tests. Install it with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
[ -d node_modules ] || npm ci

export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
export DENO_DIR="$PWD/.deno" DENO_NO_UPDATE_CHECK=1 DENO_CERT=/etc/ssl/certs/ca-certificates.crt

echo "== typecheck"
npm run --silent typecheck

echo "== vitest"
npx vitest run

if [ -d test/deno ]; then
  echo "== deno"
  npx deno test --allow-all --quiet test/deno/
fi
if [ -d test/bun ]; then
  echo "== bun"
  npx bun test test/bun/
fi
echo "== all test suites passed"
