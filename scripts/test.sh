#!/usr/bin/env bash
# Runs every test suite: typecheck, vitest (node, workerd, chromium projects), Deno and Bun.
# Installs what the tests need beyond npm (Debian's chromium and postgresql) when it is missing and
# we are root, and runs a throwaway PostgreSQL cluster for the run (stopped on exit, also on failure).
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

# Each section header says how long the run has taken so far, so a slow step shows in the log.
started=$SECONDS
section() { echo "== $1 (at $((SECONDS - started)) s)"; }

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

section "postgresql (a throwaway cluster for this run)"
# No fsync: the tests kill clients and restart the server cleanly, never the machine, and waiting
# for the disk on every commit would only slow them (the benchmark keeps full durability).
pg=$(PORTICO_PG_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" bash scripts/pg-cluster.sh start)
pg_dir=$(sed -n 's/.*dir=\([^ ]*\).*/\1/p' <<<"$pg")
trap 'bash scripts/pg-cluster.sh stop "$pg_dir"' EXIT
trap 'exit 130' INT TERM
# The tests' PostgreSQL; PORTICO_TEST_PG_DIR lets the chaos tests restart it (pg-cluster.sh restart).
export PORTICO_TEST_PG_URL=$(sed -n 's/.*url=\([^ ]*\).*/\1/p' <<<"$pg") PORTICO_TEST_PG_DIR=$pg_dir
echo "$PORTICO_TEST_PG_URL"

export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
export DENO_DIR="$PWD/.deno" DENO_NO_UPDATE_CHECK=1 DENO_CERT=/etc/ssl/certs/ca-certificates.crt

section "typecheck"
npm run --silent typecheck

section "entry points (entry-points.json vs package.json, deno.json, tsconfig paths, README; peers vs imports)"
node scripts/entry-points.mjs

section "build"
npm run --silent build
node scripts/check-dist.mjs

results="$PWD/test-results"
rm -rf "$results" && mkdir -p "$results"

section "vitest (node, types, workerd, chromium, package projects)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"

section "deno publish --dry-run (JSR: slow types, the deno.json export map, every import resolvable)"
if ! npx deno publish --dry-run --allow-dirty >"$results/deno-publish.txt" 2>&1; then
  cat "$results/deno-publish.txt" >&2
  exit 1
fi
grep -a "Dry run complete" "$results/deno-publish.txt"

section "deno"
npx deno test --allow-all --quiet test/deno/ 2>&1 | tee "$results/deno.txt"

section "bun"
npx bun test test/bun/ 2>&1 | tee "$results/bun.txt"

# One closing line over every runner (each runner above already failed the script on any failure).
node -e '
const fs = require("fs");
const dir = process.argv[1];
const v = JSON.parse(fs.readFileSync(dir + "/vitest.json", "utf8"));
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
const deno = strip(fs.readFileSync(dir + "/deno.txt", "utf8")).match(/(\d+) passed \| (\d+) failed/);
const bun = strip(fs.readFileSync(dir + "/bun.txt", "utf8"));
const bunPass = +(bun.match(/^\s*(\d+) pass$/m) || [0, 0])[1], bunFail = +(bun.match(/^\s*(\d+) fail$/m) || [0, 0])[1];
const passed = v.numPassedTests + +(deno ? deno[1] : 0) + bunPass;
const failed = v.numFailedTests + +(deno ? deno[2] : 0) + bunFail;
console.log(`vitest ${v.numPassedTests}, deno ${deno ? deno[1] : 0}, bun ${bunPass} passed`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
' "$results"
echo "== done in $((SECONDS - started)) s"
