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

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
BINARYEN_VERSION := 132

DATA_DIR ?= data
E2E_PORT ?= 3100

.PHONY: run test dev deps deps-test lint unit e2e build-debug build-release demo-data clean-data fmt

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

lint:
	cargo fmt --all --check
	cargo clippy -p server --tests -- -D warnings
	cargo clippy -p app --features ssr --tests -- -D warnings

unit:
	cargo test -p app --features ssr
	cargo test -p server

e2e: deps-test build-debug
	tmp=$$(mktemp -d)
	DATA_DIR=$$tmp/data BIND=127.0.0.1:$(E2E_PORT) ADMIN_PASSWORD=e2e-admin-pass DEMO_CLIENTS=400 \
		$(CARGO_TARGET_DIR)/debug/server > $$tmp/server.log 2>&1 &
	server_pid=$$!
	trap 'kill $$server_pid 2>/dev/null || true; wait $$server_pid 2>/dev/null || true' EXIT
	cd end2end
	E2E_BASE_URL=http://127.0.0.1:$(E2E_PORT) E2E_ADMIN_PASSWORD=e2e-admin-pass npx playwright test || { echo "--- server log"; tail -50 $$tmp/server.log; exit 1; }

test: deps lint unit e2e
