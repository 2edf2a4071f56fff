#!/usr/bin/env bash
# Lighthouse (mobile preset: simulated slow 4G and a 4x slower CPU) on the
# running server's pages in Debian's Chromium, as `make bench` runs it:
#   scripts/lighthouse.sh BASE_URL SESSION_COOKIE PATH…
# Prints performance and accessibility per page; the JSON reports stay in
# $BENCH_DIR/lighthouse. Lighthouse 12 (Node 18+) is installed once into TOOLS.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$1 cookie=$2
shift 2
tools=${TOOLS:-$HOME/.cache/avtosalon/tools}
reports=${BENCH_DIR:-/tmp}/lighthouse
mkdir -p "$tools" "$reports"
version=12.8.2
if [ "$("$tools/node_modules/.bin/lighthouse" --version 2>/dev/null)" != "$version" ]; then
	npm install --prefix "$tools" --no-audit --no-fund "lighthouse@$version" > /dev/null
fi
printf '%-26s %12s %14s %8s %8s %8s\n' page performance accessibility "FCP ms" "LCP ms" "TBT ms"
for path in "$@"; do
	name=$(echo "$path" | tr '/?=&' '____')
	headers="{}"
	case "$path" in /login | /kiosk*) ;; *) headers="{\"Cookie\": \"avtosalon_session=$cookie\"}" ;; esac
	CHROME_PATH=/usr/bin/chromium "$tools/node_modules/.bin/lighthouse" "$base$path" --quiet \
		--only-categories=performance,accessibility --form-factor=mobile \
		--chrome-flags="--headless=new --no-sandbox --disable-gpu" --extra-headers="$headers" \
		--output=json --output-path="$reports/$name.json" || { echo "$path: lighthouse failed"; continue; }
	python3 - "$path" "$reports/$name.json" <<'SCORES'
import json, sys
report = json.load(open(sys.argv[2]))
score = lambda c: round(report["categories"][c]["score"] * 100)
audit = lambda a: report["audits"][a].get("numericValue", 0)
print(f"{sys.argv[1]:<26} {score('performance'):>12} {score('accessibility'):>14} "
      f"{audit('first-contentful-paint'):>8.0f} {audit('largest-contentful-paint'):>8.0f} {audit('total-blocking-time'):>8.0f}")
SCORES
done
