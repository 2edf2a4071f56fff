#!/usr/bin/env bash
# End-to-end tests: a debug server with demo data and a fake Telegram Bot API,
# a whole camera passage with the real vision program, then Playwright in
# Chromium. Run by `make e2e`, which builds everything first and sets:
#   CARGO_TARGET_DIR  where the debug `server` binary is
#   E2E_PORT          a free loopback port for the server under test
#   VISION_MEDIA      the vision program's test media (make vision-assets)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:?}" "${E2E_PORT:?}" "${VISION_MEDIA:?}"

tmp=$(mktemp -d)
# The bot talks to a fake Telegram Bot API on loopback, never the internet.
tg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
node end2end/fake-telegram.mjs "$tg_port" > "$tmp/telegram.log" 2>&1 &
tg_pid=$!
DATA_DIR=$tmp/data BIND=127.0.0.1:$E2E_PORT ADMIN_PASSWORD=e2e-admin-pass DEMO_CLIENTS=400 \
	TELEGRAM_BOT_TOKEN=123456:E2E TELEGRAM_API_URL=http://127.0.0.1:$tg_port \
	"$CARGO_TARGET_DIR/debug/server" > "$tmp/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid $tg_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true' EXIT
# Up means answering /healthz, not just a running process; give up after 120 s.
healthy() { python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=5)" "http://127.0.0.1:$E2E_PORT/healthz" 2>/dev/null; }
for _ in $(seq 1 240); do
	healthy && break
	kill -0 "$server_pid" 2>/dev/null || { echo "the test server exited:"; cat "$tmp/server.log"; exit 1; }
	sleep 0.5
done
healthy || { echo "the test server did not answer in 120 s:"; tail -50 "$tmp/server.log"; exit 1; }
# What a tablet on plain http receives: the WASM gzip-compressed (it asks for
# gzip and deflate only), kept in its cache and revalidated with a 304.
python3 - "http://127.0.0.1:$E2E_PORT/pkg/avtosalon.wasm" <<'CHECK'
import gzip, sys, urllib.error, urllib.request
url = sys.argv[1]
answer = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip, deflate"}))
body, headers = answer.read(), answer.headers
assert headers["Content-Encoding"] == "gzip", headers
assert headers["Cache-Control"] == "no-cache", headers
size = len(gzip.decompress(body))
assert len(body) * 2 < size, (len(body), size)
try:
    urllib.request.urlopen(urllib.request.Request(url, headers={
        "Accept-Encoding": "gzip, deflate", "If-Modified-Since": headers["Last-Modified"]}))
    sys.exit("a revalidation sent the whole file again")
except urllib.error.HTTPError as answer:
    assert answer.code == 304, answer.code
print(f"wasm over the wire: {len(body)} B gzip of {size} B; revalidated: 304")
# Pages ask for the assets under their version, kept by the browser for a
# year without asking again; the same bytes, gzip-compressed. The kiosk asks
# for its own bundle, a manager page for the manager app's.
import re
def assets_of(page_path):
    page = urllib.request.urlopen(url.replace("/pkg/avtosalon.wasm", page_path)).read().decode()
    return sorted(set(re.findall(r'/pkg/v-[0-9a-f]{16}/[a-z]+\.(?:wasm|js|css)', page)))
kiosk, manager = assets_of("/kiosk"), assets_of("/login")
names = lambda paths: sorted(p.rsplit("/", 1)[1] for p in paths)
assert names(kiosk) == ["avtosalon.css", "kiosk.js", "kiosk.wasm"], kiosk
assert names(manager) == ["avtosalon.css", "avtosalon.js", "avtosalon.wasm"], manager
sizes = {}
for path in sorted(set(kiosk + manager)):
    answer = urllib.request.urlopen(urllib.request.Request(
        url.replace("/pkg/avtosalon.wasm", path), headers={"Accept-Encoding": "gzip, deflate"}))
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable", answer.headers
    assert answer.headers["Content-Encoding"] == "gzip", answer.headers
    sent = answer.read()
    sizes[path.rsplit("/", 1)[1]] = len(sent)
    if path.endswith("/avtosalon.wasm"):
        assert gzip.decompress(sent) == gzip.decompress(body)
# The kiosk's bundle is the kiosk alone: far smaller than the manager app's.
assert sizes["kiosk.wasm"] * 2 < sizes["avtosalon.wasm"], sizes
versioned = sorted(set(kiosk + manager))
stale = url.replace("/pkg/avtosalon.wasm", "/pkg/v-0000000000000000/avtosalon.wasm")
try:
    urllib.request.urlopen(stale)
    sys.exit("an asset of another version was served")
except urllib.error.HTTPError as answer:
    assert answer.code == 404 and "immutable" not in answer.headers.get("Cache-Control", ""), answer.headers
print("versioned assets:", ", ".join(versioned), "kept for a year; gzip bytes:", sizes)
CHECK
# A whole camera passage with the real server and the real vision program.
cargo build -p vision
timeout 900 python3 vision/tests/real_server_passage.py "http://127.0.0.1:$E2E_PORT" e2e-admin-pass "$tmp/data/avtosalon.db" \
	"$CARGO_TARGET_DIR/debug/vision" "$VISION_MEDIA" || { echo "--- server log"; tail -50 "$tmp/server.log"; exit 1; }
# The kiosk tablet's fake camera for the face test: frames of the man's second webcam
# session (he registered from the first one above), as an MJPEG file Chromium can play.
for second in 2 4 6 8 10 12 14 16 18 20; do
	"$CARGO_TARGET_DIR/debug/vision" frame "$VISION_MEDIA/cap13_edit2.mp4" --at "$second" --out "$tmp/face-$second.jpg" > /dev/null
done
cat $(for second in 2 4 6 8 10 12 14 16 18 20; do echo "$tmp/face-$second.jpg"; done) > "$tmp/returning.mjpeg"
export E2E_FACE_VIDEO=$tmp/returning.mjpeg E2E_VISION_BIN=$CARGO_TARGET_DIR/debug/vision
cd end2end
E2E_BASE_URL=http://127.0.0.1:$E2E_PORT E2E_ADMIN_PASSWORD=e2e-admin-pass E2E_TELEGRAM_URL=http://127.0.0.1:$tg_port \
	timeout 1800 npx playwright test || { echo "--- server log"; tail -50 "$tmp/server.log"; exit 1; }
