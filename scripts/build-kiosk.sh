#!/usr/bin/env bash
# The kiosk's own bundle (frontend/kiosk: the kiosk page without the manager
# app) beside the manager app's, in the site's package directory as
# kiosk.js + kiosk.wasm. Run after `cargo leptos build` (make build-debug,
# make build-release):
#   scripts/build-kiosk.sh            debug, as `cargo leptos build`
#   scripts/build-kiosk.sh --release  as `cargo leptos build --release`, optimised and precompressed
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:?}"
pkg=${LEPTOS_SITE_ROOT:-target/site}/${LEPTOS_SITE_PKG_DIR:-pkg}
release=false
[ "${1:-}" = --release ] && release=true

# The environment cargo-leptos 0.3 gives its WASM build (Cargo.toml's
# [[workspace.metadata.leptos]]): with the same values cargo reuses every crate
# it compiled for the manager app's bundle and builds only the kiosk's entry.
export LEPTOS_OUTPUT_NAME=avtosalon LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
	LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend \
	LEPTOS_BIN_DIR=server LEPTOS_HASH_FILES=false LEPTOS_JS_MINIFY=$release
if $release; then
	unset RUSTFLAGS
	profile=wasm-release
else
	# cargo-leptos's debug builds erase component types (faster to compile).
	export RUSTFLAGS="--cfg erase_components"
	profile=debug
fi
# cargo-leptos builds the browser's crates in their own target directory.
front=$CARGO_TARGET_DIR/front
cargo build -p kiosk-frontend --lib --target-dir="$front" --target wasm32-unknown-unknown --no-default-features \
	$($release && echo --profile=wasm-release)
mkdir -p "$pkg"
wasm-bindgen --target=web --no-typescript --out-name=kiosk --out-dir="$pkg" \
	"$front/wasm32-unknown-unknown/$profile/kiosk_frontend.wasm"
# Leptos asks for `<name>.wasm` (cargo-leptos renames the `_bg` file the same way).
mv "$pkg/kiosk_bg.wasm" "$pkg/kiosk.wasm"
if $release; then
	wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$pkg/kiosk.wasm" -o "$pkg/kiosk.wasm"
	for asset in "$pkg/kiosk.wasm" "$pkg/kiosk.js"; do
		gzip -9 -c "$asset" > "$asset.gz"
		if command -v brotli > /dev/null; then brotli -f -q 11 -o "$asset.br" "$asset"; else rm -f "$asset.br"; fi
	done
else
	# A debug build must not be served with a release build's compressed copies.
	rm -f "$pkg"/kiosk.*.gz "$pkg"/kiosk.*.br
fi
ls -l "$pkg"/kiosk.wasm "$pkg"/kiosk.js | awk '{print $5, $9}'
