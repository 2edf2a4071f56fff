#!/bin/bash
# The PostgreSQL figures beside SQLite's (make bench runs this after scripts/bench.sh): in a
# throw-away cluster from pg_virtualenv (durable settings: fsync and synchronous commits on),
# demo data for BENCH_CLIENTS clients, the copy of SQLite's bench.db, then on that copy (the
# same data the SQLite figures use) criterion's statistics and search times, wrk on the client
# API, statistics over HTTP and kiosk registrations. Needs the release server built.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CARGO_TARGET_DIR:?}" "${BENCH_DIR:?}" "${BENCH_CLIENTS:?}" "${BENCH_PORT:?}"
if [ -z "${PGHOST:-}" ]; then
	exec pg_virtualenv -t -o shared_buffers=512MB -o max_connections=200 "$0" "$@"
fi
server=$CARGO_TARGET_DIR/release/server
base="postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT"
export BACKUP_KEEP_DAYS=0
[ -f "$BENCH_DIR/bench.db" ] || { echo "no $BENCH_DIR/bench.db: run scripts/bench.sh first" >&2; exit 2; }
psql -q -c 'CREATE DATABASE bench_demo' -c 'CREATE DATABASE bench_copy' postgres
echo "== PostgreSQL $(psql -tAc 'SHOW server_version' postgres) (pg_virtualenv, shared_buffers 512MB)"
seconds() { awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $1}"; }
echo "-- demo data: $BENCH_CLIENTS clients"
start=$(date +%s.%N)
"$server" --data-dir "$BENCH_DIR/pg" --database-url "$base/bench_demo" demo-data --clients "$BENCH_CLIENTS" --seed 42
echo "demo-data wall time on PostgreSQL: $(seconds "$start") s"
echo "-- copy of bench.db (SQLite, $BENCH_CLIENTS clients) onto PostgreSQL"
start=$(date +%s.%N)
"$server" copy-database --from "sqlite://$BENCH_DIR/bench.db" --to "$base/bench_copy" | tail -1
echo "copy-database wall time: $(seconds "$start") s"
db=$base/bench_copy
# A copy marks every client's model features due; `train` computes them (as the server would
# in the background at its start) and trains, so the timings below do not share the machine.
echo "-- train on the copy (all 100,000 clients' features computed first)"
start=$(date +%s.%N)
"$server" --data-dir "$BENCH_DIR/pg" --database-url "$db" train
echo "train wall time: $(seconds "$start") s"
if [ "${PG_BENCH_CRITERION:-1}" = 1 ]; then
	echo "== criterion on PostgreSQL (server-side times)"
	BENCH_DATABASE_URL=$db cargo bench --profile release -p server --bench queries -- --noplot 'stats_|client_'
fi
command -v wrk >/dev/null || "${MAKE:-make}" --no-print-directory apt PACKAGES="wrk"
echo "== the release server on PostgreSQL, 127.0.0.1:$BENCH_PORT"
DATA_DIR=$BENCH_DIR/pg DATABASE_URL=$db BIND=127.0.0.1:$BENCH_PORT ADMIN_PASSWORD=bench-admin-pass NO_DEMO_DATA=1 RUST_LOG=info \
	"$server" > "$BENCH_DIR/pg-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in $(seq 1 150); do curl -sf "http://127.0.0.1:$BENCH_PORT/healthz" >/dev/null && break; sleep 0.2; done
# The server's start-up work (loading the kept model features, any refresh they need) runs in
# the background; measure what a manager meets afterwards, not the two sharing the cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
idle=0
for i in $(seq 1 120); do
	before=$(cpu_ticks); sleep 1; after=$(cpu_ticks)
	# Under 5 ticks (50 ms of CPU) in a second, twice in a row: settled.
	if [ $((after - before)) -lt 5 ]; then idle=$((idle + 1)); else idle=0; fi
	[ $idle -ge 2 ] && break
done
echo "server settled after ${i} s (its start-up work done)"
grep -E "brought up to date|model trained" "$BENCH_DIR/pg-server.log" | sed 's/\x1b\[[0-9;]*m//g' || true
cookie=$(curl -s -c - -H 'content-type: application/json' -d '{"login":"admin","password":"bench-admin-pass"}' \
	"http://127.0.0.1:$BENCH_PORT/api/login" | awk '/avtosalon_session/ {print $7}')
[ -n "$cookie" ] || { echo "cannot sign in; server log:" >&2; tail "$BENCH_DIR/pg-server.log" >&2; exit 1; }
for path in "/api/clients?page_size=25" "/api/clients?q=90%20123"; do
	echo "-- GET $path"
	wrk -t1 -c32 -d10s -H "Cookie: avtosalon_session=$cookie" "http://127.0.0.1:$BENCH_PORT$path" | grep -E "Requests/sec|Latency|requests in"
done
median() { sort -n | sed -n 11p | awk '{printf "median %.1f ms\n", $1 * 1000}'; }
echo "-- GET /api/stats, one year, all branches (median of 21)"
for i in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: avtosalon_session=$cookie" \
	"http://127.0.0.1:$BENCH_PORT/api/stats?from=2025-12-01&to=2026-11-30"; done | median
echo "-- GET /stats (whole page, median of 21)"
for i in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: avtosalon_session=$cookie" \
	"http://127.0.0.1:$BENCH_PORT/stats"; done | median
# The tablet's photo as scripts/bench.sh made it (a 1280 px JPEG of quality 0.85).
echo "-- kiosk registration (the tablet's photo, consent, services), 100 visitors, each followed by a name search"
PHOTO="$BENCH_DIR/tablet-photo.jpg" python3 server/benches/kiosk_registration.py "http://127.0.0.1:$BENCH_PORT" bench-admin-pass 100 aziz
echo "-- kiosk registration with a 640x480 PNG of noise (worst case), 100 visitors"
python3 server/benches/kiosk_registration.py "http://127.0.0.1:$BENCH_PORT" bench-admin-pass 100
