#!/usr/bin/env bash
# Benchmarks on BENCH_CLIENTS clients (~10 visits each; the database is
# created once and cached in BENCH_DIR): criterion, wrk on loopback, page and
# kiosk timings, Chromium, the vision program, Telegram latency and the mixed
# load of kiosks, cameras and managers (server/benches/load.py). Run by
# `make bench`, which builds the release server first and sets:
#   CARGO_TARGET_DIR  where the release `server` binary is
#   BENCH_DIR, BENCH_CLIENTS, BENCH_PORT
#   VISION_MEDIA      the vision program's test media (make vision-assets)
#   MAKE              the make that runs `apt` and `vision-assets`
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:?}" "${BENCH_DIR:?}" "${BENCH_CLIENTS:?}" "${BENCH_PORT:?}" "${VISION_MEDIA:?}"
make=${MAKE:-make}
# Benchmarks measure the work asked for, not the daily backup a start takes.
export BACKUP_KEEP_DAYS=0

mkdir -p "$BENCH_DIR"
db=sqlite://$BENCH_DIR/bench.db
if [ ! -f "$BENCH_DIR/bench.db" ]; then
	echo "== demo data: $BENCH_CLIENTS clients"
	start=$(date +%s.%N)
	"$CARGO_TARGET_DIR/release/server" --data-dir "$BENCH_DIR" --database-url "$db" demo-data --clients "$BENCH_CLIENTS" --seed 42
	echo "demo-data wall time: $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $start}") s"
	"$CARGO_TARGET_DIR/release/server" --data-dir "$BENCH_DIR" --database-url "$db" train
fi
echo "== criterion (server-side times)"
BENCH_DATABASE_URL=$db cargo bench --profile release -p server --bench queries -- --noplot
echo "== load generator (wrk) on 127.0.0.1:$BENCH_PORT"
command -v wrk >/dev/null || "$make" --no-print-directory apt PACKAGES="wrk"
DATA_DIR=$BENCH_DIR DATABASE_URL=$db BIND=127.0.0.1:$BENCH_PORT ADMIN_PASSWORD=bench-admin-pass NO_DEMO_DATA=1 RUST_LOG=warn,app::scoring=info \
	"$CARGO_TARGET_DIR/release/server" > "$BENCH_DIR/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$BENCH_PORT/healthz" >/dev/null && break; sleep 0.2; done
cookie=$(curl -s -c - -H 'content-type: application/json' -d '{"login":"admin","password":"bench-admin-pass"}' \
	"http://127.0.0.1:$BENCH_PORT/api/login" | awk '/avtosalon_session/ {print $7}')
for path in "/api/clients?page_size=25" "/api/clients?q=90%20123"; do
	echo "-- GET $path"
	wrk -t1 -c32 -d10s -H "Cookie: avtosalon_session=$cookie" "http://127.0.0.1:$BENCH_PORT$path" | grep -E "Requests/sec|Latency|requests in"
done
echo "-- GET /stats (whole page, server time of 21 requests, median)"
for i in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: avtosalon_session=$cookie" "http://127.0.0.1:$BENCH_PORT/stats"; done \
	| sort -n | sed -n 11p | awk '{printf "median %.1f ms\n", $1 * 1000}'
# What the manager waits for: the request from click to answer (features,
# training, evaluation, rescoring and storing every client), three times.
echo "-- POST /api/retrain_model (whole request, 3 runs)"
for i in 1 2 3; do
	curl -s -o "$BENCH_DIR/retrain.json" -w '%{http_code} %{time_total}\n' -X POST -H "Cookie: avtosalon_session=$cookie" \
		"http://127.0.0.1:$BENCH_PORT/api/retrain_model" | awk '{printf "HTTP %s in %.0f ms\n", $1, $2 * 1000}'
done
grep 'model trained' "$BENCH_DIR/server.log" | tail -3 || true
echo "-- hold-out quality: both our models beside scikit-learn on the same matrix and split"
"$CARGO_TARGET_DIR/release/server" --data-dir "$BENCH_DIR" --database-url "$db" export-features --out "$BENCH_DIR/features.csv"
[ -x "$BENCH_DIR/venv/bin/python" ] || { python3 -m venv "$BENCH_DIR/venv" && "$BENCH_DIR/venv/bin/pip" install -q scikit-learn==1.5.2; }
"$BENCH_DIR/venv/bin/python" scripts/compare_sklearn.py "$BENCH_DIR/features.csv" --db "$BENCH_DIR/bench.db" --slices
echo "-- GET /api/potential_buyers_ml first page (median of 21)"
for i in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: avtosalon_session=$cookie" \
	"http://127.0.0.1:$BENCH_PORT/api/potential_buyers_ml"; done | sort -n | sed -n 11p | awk '{printf "median %.1f ms\n", $1 * 1000}'
echo "-- sign-in flood: 2,000 anonymous sign-ins, 64 at once, from many addresses"
python3 server/benches/sign_in_flood.py "http://127.0.0.1:$BENCH_PORT" "$pid" 2000 64
# What a tablet sends: a frame of its camera (1280x720 here), at most 1280
# pixels wide, as a JPEG of quality 0.85 (app/src/webcam.rs); made from a face
# photo of the test media, cut to the camera's 16:9.
"$BENCH_DIR/venv/bin/python" -c 'import PIL' 2>/dev/null || "$BENCH_DIR/venv/bin/pip" install -q pillow==11.0.0
"$BENCH_DIR/venv/bin/python" - "$VISION_MEDIA/obama.jpg" "$BENCH_DIR/tablet-photo.jpg" <<'PY'
import sys
from PIL import Image
picture = Image.open(sys.argv[1]).convert("RGB")
height = picture.width * 9 // 16
top = (picture.height - height) // 2
picture.crop((0, top, picture.width, top + height)).resize((1280, 720)).save(sys.argv[2], quality=85)
PY
echo "-- kiosk registration with the tablet's photo (1280x720 JPEG, $(stat -c %s "$BENCH_DIR/tablet-photo.jpg") bytes), consent, services; 100 visitors"
PHOTO="$BENCH_DIR/tablet-photo.jpg" python3 server/benches/kiosk_registration.py "http://127.0.0.1:$BENCH_PORT" bench-admin-pass 100 aziz
echo "-- kiosk registration with a 640x480 PNG of noise (worst case), 100 visitors"
python3 server/benches/kiosk_registration.py "http://127.0.0.1:$BENCH_PORT" bench-admin-pass 100
echo "-- kiosk page: HTML server time (median of 21)"
for i in $(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$BENCH_PORT/kiosk"; done \
	| sort -n | sed -n 11p | awk '{printf "median %.1f ms\n", $1 * 1000}'
# What the server sends over the wire: bytes received with the encodings a
# tablet on plain http asks for (gzip, deflate) and a browser over https (+ br).
echo "-- bytes over the wire (identity / gzip, deflate / gzip, deflate, br)"
for f in /kiosk /pkg/kiosk.js /pkg/kiosk.wasm /pkg/avtosalon.js /pkg/avtosalon.wasm /pkg/avtosalon.css / /clients /stats /potential; do
	sizes=""
	for encoding in identity "gzip, deflate" "gzip, deflate, br"; do
		sizes="$sizes $(curl -s -o /dev/null -w '%{size_download}' -H "Accept-Encoding: $encoding" \
			-H "Cookie: avtosalon_session=$cookie" "http://127.0.0.1:$BENCH_PORT$f")"
	done
	echo "$f:$sizes"
done
echo "-- what each page downloads before it is interactive (Chromium, cold cache, gzip, deflate)"
client=$(curl -s -H "Cookie: avtosalon_session=$cookie" "http://127.0.0.1:$BENCH_PORT/api/clients?page_size=1" \
	| python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
cd end2end && node page-weight.mjs "http://127.0.0.1:$BENCH_PORT" "$cookie" \
	/login /kiosk / /clients "/clients/$client" /stats /potential /settings && cd ..
echo "-- Lighthouse, mobile preset (Debian's Chromium)"
scripts/lighthouse.sh "http://127.0.0.1:$BENCH_PORT" "$cookie" \
	/login /kiosk / /clients "/clients/$client" /stats /potential /settings
echo "-- kiosk page in Chromium: navigation to first screen"
cd end2end && node kiosk-load.mjs "http://127.0.0.1:$BENCH_PORT" 7 && cd ..
echo "server RSS: $(ps -o rss= -p $pid | awk '{printf "%.0f MB", $1/1024}')"
echo "-- vision: every frame of franck.mp4 with detection, tracking and recognition (release)"
"$make" --no-print-directory vision-assets
cargo build --release -p vision
gallery=$BENCH_DIR/vision-gallery
mkdir -p "$gallery/obama" "$gallery/biden"
cp "$VISION_MEDIA/obama.jpg" "$gallery/obama/" && cp "$VISION_MEDIA/biden.jpg" "$gallery/biden/"
"$CARGO_TARGET_DIR/release/vision" bench --gallery "$gallery" "$VISION_MEDIA/franck.mp4"
echo "-- vision: the same with a big showroom's gallery (10,000 clients with two captures each, 100 staff; made-up faces)"
"$CARGO_TARGET_DIR/release/vision" bench --gallery "$gallery" --extra-clients 10000 --extra-staff 100 "$VISION_MEDIA/franck.mp4"
echo "-- kiosk faces: frame -> answer through the server and the camera program (release)"
python3 server/benches/kiosk_faces.py "http://127.0.0.1:$BENCH_PORT" bench-admin-pass "$CARGO_TARGET_DIR/release/vision" "$VISION_MEDIA"
echo "-- vision: returning faces and strangers named, photo only vs photo + captures, unaligned vs aligned"
"$CARGO_TARGET_DIR/release/vision" accuracy --media "$VISION_MEDIA"
echo "-- vision: face appearing -> event received by a server (release, real-time vision run)"
cargo test --release -p vision --test run_command -- --nocapture 2>&1 | grep -E "face appearing|peak memory"
echo "-- Telegram: camera event -> sendMessage on a fake Bot API (debug test build)"
cargo test -p server --test integration -- --ignored notification_latency --nocapture 2>/dev/null | grep "event ->"
echo "== load: 100 kiosks, 20 cameras and 50 managers at once, 60 s per scenario, on copies of bench.db"
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
python3 server/benches/load.py "$CARGO_TARGET_DIR/release/server" "$BENCH_DIR/bench.db" "$BENCH_DIR/load" --port "$BENCH_PORT"
