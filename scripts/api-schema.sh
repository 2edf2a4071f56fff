#!/usr/bin/env bash
# The OpenAPI document against the real server: schemathesis (pinned, in its
# own virtualenv) sends requests generated from the document to a debug
# server with demo data and checks that every request valid by the document
# is accepted, every request outside it refused, no answer is a 5xx, and
# every status, content type and body is the documented one. Run by
# `make test` (target `api-schema`), which sets:
#   CARGO_TARGET_DIR  where the debug `server` binary is
#   TOOLS             where the virtualenv lives
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:?}" "${TOOLS:?}"
version=4.32.5
venv=$TOOLS/schemathesis-venv
if [ "$("$venv/bin/st" --version 2>/dev/null | awk '{print $3}')" != "$version" ]; then
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q "schemathesis==$version"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
tmp=$(mktemp -d)
DATA_DIR=$tmp/data BIND=127.0.0.1:$port ADMIN_PASSWORD=schema-admin-pass DEMO_CLIENTS=300 RUST_LOG=warn \
	"$CARGO_TARGET_DIR/debug/server" > "$tmp/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 240); do
	curl -sf "$base/healthz" >/dev/null && break
	kill -0 $pid 2>/dev/null || { echo "the server exited:"; cat "$tmp/server.log"; exit 1; }
	sleep 0.5
done
json() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
session=$(curl -sf -c - -H 'content-type: application/json' -d '{"login":"admin","password":"schema-admin-pass"}' \
	"$base/api/login" | awk '/avtosalon_session/ {print $7}')
# A camera is paired before the staff run, whose pairing guesses use up the
# address's pairing attempts.
code=$(curl -sf -H "Cookie: avtosalon_session=$session" -H 'accept: application/json' \
	-d 'name=Schema+door&branch_id=1&kind=camera&camera_role=entrance' "$base/rpc/create_device" | json code)
camera=$(curl -sf -H 'content-type: application/json' -d "{\"code\":\"$code\"}" "$base/api/vision/pair" | json token)

st() { # LABEL, then schemathesis options (not echoed: they hold the session and token)
	echo "-- schemathesis: $1"
	shift
	"$venv/bin/st" run server/src/http/openapi.json --url "$base" --checks all --max-examples 25 --seed 20261130 \
		--request-timeout 60 --no-color "$@" > "$tmp/st.log" 2>&1 \
		|| { cat "$tmp/st.log"; echo "--- server log"; tail -30 "$tmp/server.log"; exit 1; }
	grep -E "generated|passed|failures" "$tmp/st.log" | tail -2
}
# Staff operations. Left out: /api/logout (it would end the session the run
# uses) and /api/events (a stream that never ends); the integration tests
# cover both.
st "staff operations" -H "Cookie: avtosalon_session=$session" --exclude-path /api/logout --exclude-path /api/events \
	--exclude-path-regex '^/api/vision/(gallery|clients|rejected|staff|events|kiosk_)'
# The camera's operations, with its device token.
st "camera gallery, photos and kiosk frames" -H "Authorization: Bearer $camera" --include-path-regex '^/api/vision/(gallery|clients|rejected|staff|kiosk_)'
# Events: whether a valid event is accepted depends on the server's clock
# (60 s ahead to 7 days old), the camera's role and the snapshot being a real
# image, which no schema can state; every other check applies.
st "camera events" -H "Authorization: Bearer $camera" --include-path /api/vision/events --exclude-checks positive_data_acceptance
