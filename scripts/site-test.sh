#!/usr/bin/env bash
# The installation as a showroom gets it (README, "Operations"): scripts/install.sh
# into a temporary root, then scripts/site_test.py starts the installed server as
# its systemd unit says and checks HTTPS, a tablet with its camera, the supervised
# vision program and one stop for everything. Run by `make site-test` with:
#   CARGO_TARGET_DIR  the debug `server` and `vision`
#   VISION_MODELS, VISION_MEDIA  the vision program's models and test videos
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:?}" "${VISION_MODELS:?}" "${VISION_MEDIA:?}"

tmp=$(mktemp -d)
trap 'pkill -TERM -f "$tmp/opt/bin/server" 2>/dev/null || true; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
plain=$(free_port)
tls=$(free_port)
BIN_DIR=$CARGO_TARGET_DIR/debug SITE_DIR=${LEPTOS_SITE_ROOT:-target/site} MODELS_DIR=$VISION_MODELS \
	PREFIX=$tmp/opt CONFIG_DIR=$tmp/etc DATA_DIR=$tmp/data UNIT_DIR=$tmp/systemd \
	SERVICE_USER=$(id -un) BIND=127.0.0.1:$plain TLS_BIND=127.0.0.1:$tls TLS_NAMES=avtosalon.test START=no \
	scripts/install.sh | tee "$tmp/install.log"
password=$(sed -n 's|^Sign in as: admin / \([^ ]*\).*|\1|p' "$tmp/install.log")
[ -n "$password" ] || { echo "the installer did not print the admin password"; exit 1; }
# The unit is valid for systemd (paths, directives), checked offline.
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$tmp/systemd/avtosalon.service"
fi
timeout 1200 python3 scripts/site_test.py "$tmp" "$password" "$plain" "$tls" "$VISION_MEDIA"
