#!/usr/bin/env bash
# Installs Avtosalon Analitika on a showroom machine (`make install` builds
# first, then runs this): the binaries and the site under PREFIX, a config file
# and the camera configuration template under CONFIG_DIR, a systemd unit, and a
# data directory outside the install. Running it again upgrades the binaries
# and keeps the config and the data.
#
# Settings (environment), with their defaults:
#   BIN_DIR      where the built `server` (and `vision`) are   (required)
#   SITE_DIR     the built site (WASM, CSS, public files)       (required)
#   MODELS_DIR   the vision program's face models, if any      (optional)
#   PREFIX       /opt/avtosalon
#   CONFIG_DIR   /etc/avtosalon
#   DATA_DIR     /var/lib/avtosalon
#   UNIT_DIR     /etc/systemd/system
#   SERVICE_USER avtosalon (created as a system user when missing)
#   BIND         0.0.0.0:3000   plain HTTP (redirects to HTTPS; serves /ca.crt)
#   TLS_BIND     0.0.0.0:3443   HTTPS for staff, tablets and phones
#   TLS_NAMES    extra names for the certificate, comma-separated
#   START        yes: enable and start the service when systemd runs here
set -euo pipefail

: "${BIN_DIR:?BIN_DIR must name the folder with the built server}"
: "${SITE_DIR:?SITE_DIR must name the built site (target/site)}"
PREFIX=${PREFIX:-/opt/avtosalon}
CONFIG_DIR=${CONFIG_DIR:-/etc/avtosalon}
DATA_DIR=${DATA_DIR:-/var/lib/avtosalon}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
SERVICE_USER=${SERVICE_USER:-avtosalon}
BIND=${BIND:-0.0.0.0:3000}
TLS_BIND=${TLS_BIND:-0.0.0.0:3443}
TLS_NAMES=${TLS_NAMES:-}
START=${START:-yes}

[ -x "$BIN_DIR/server" ] || { echo "no server binary in $BIN_DIR: build first (make install does)"; exit 1; }
[ -d "$SITE_DIR/pkg" ] || { echo "no built site in $SITE_DIR: build first (make install does)"; exit 1; }

if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || { echo "user $SERVICE_USER does not exist; run as root to create it"; exit 1; }
	# Cameras are /dev/video* devices of the video group.
	useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin --groups video "$SERVICE_USER" 2>/dev/null \
		|| useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
fi
group=$(id -gn "$SERVICE_USER")

# Programs and site: replaced whole, so an upgrade leaves nothing stale.
install -d -m 0755 "$PREFIX/bin"
install -m 0755 "$BIN_DIR/server" "$PREFIX/bin/server.new" && mv -f "$PREFIX/bin/server.new" "$PREFIX/bin/server"
if [ -x "$BIN_DIR/vision" ]; then
	install -m 0755 "$BIN_DIR/vision" "$PREFIX/bin/vision.new" && mv -f "$PREFIX/bin/vision.new" "$PREFIX/bin/vision"
fi
rm -rf "$PREFIX/site.new"
cp -r "$SITE_DIR" "$PREFIX/site.new"
rm -rf "$PREFIX/site.old"
[ ! -e "$PREFIX/site" ] || mv "$PREFIX/site" "$PREFIX/site.old"
mv "$PREFIX/site.new" "$PREFIX/site"
rm -rf "$PREFIX/site.old"
if [ -n "${MODELS_DIR:-}" ] && [ -d "$MODELS_DIR" ]; then
	install -d -m 0755 "$PREFIX/models"
	cp -r "$MODELS_DIR"/. "$PREFIX/models/"
fi

# The data directory: private to the service (photos, passports, faces).
install -d -m 0700 -o "$SERVICE_USER" -g "$group" "$DATA_DIR"

# The config is written once; an upgrade keeps what the dealership changed.
install -d -m 0750 -g "$group" "$CONFIG_DIR"
config="$CONFIG_DIR/avtosalon.env"
password=""
if [ ! -e "$config" ]; then
	names_line="# TLS_NAMES=salon.example.uz,10.0.0.5   # more names for the certificate"
	[ -z "$TLS_NAMES" ] || names_line="TLS_NAMES=$TLS_NAMES"
	password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
	umask 077
	cat > "$config" <<-EOF
		# Avtosalon Analitika settings (README, "Configuration"). Read by the
		# avtosalon service at start: systemctl restart avtosalon after a change.
		BIND=$BIND
		TLS_BIND=$TLS_BIND
		$names_line
		# TLS_CERT=/etc/avtosalon/cert.pem   # the dealership's own certificate…
		# TLS_KEY=/etc/avtosalon/key.pem     # …instead of the local authority
		DATA_DIR=$DATA_DIR
		LEPTOS_SITE_ROOT=$PREFIX/site
		NO_DEMO_DATA=true
		# The first administrator's password, used on the first start only:
		# change it in the app (Profile), then this line no longer matters.
		ADMIN_PASSWORD=$password
		# TELEGRAM_BOT_TOKEN=123456:ABC…
		# The cameras: the server runs the vision program once this file exists.
		VISION_CONFIG=$CONFIG_DIR/vision.toml
		VISION_BIN=$PREFIX/bin/vision
		VISION_MODELS=$PREFIX/models
		# BACKUP_DIR=/srv/backups/avtosalon  # default: DATA_DIR/backups, 7 days kept
		RUST_LOG=info
	EOF
	umask 022
	chgrp "$group" "$config"
	chmod 0640 "$config"
fi
cat > "$CONFIG_DIR/vision.toml.example" <<-EOF
	# Copy to vision.toml (beside this file) once the cameras are paired:
	#   $PREFIX/bin/vision pair --server http://127.0.0.1:${BIND##*:} --code CODE
	# gives each camera's token. The server starts the cameras within seconds.
	server = "http://127.0.0.1:${BIND##*:}"
	data_dir = "$DATA_DIR/vision"
	models_dir = "$PREFIX/models"

	[[camera]]
	id = "door-in"
	role = "entrance"
	source = "0"                        # /dev/video0, rtsp://…, or a video file
	fps = 10
	token = "kd_…"

	[[camera]]
	id = "door-out"
	role = "exit"
	source = "rtsp://user:pass@192.168.1.20/stream1"
	fps = 10
	token = "kd_…"
EOF

install -d -m 0755 "$UNIT_DIR"
cat > "$UNIT_DIR/avtosalon.service" <<-EOF
	[Unit]
	Description=Avtosalon Analitika (web app, Telegram bot, cameras)
	Documentation=file://$PREFIX/README.md
	After=network-online.target
	Wants=network-online.target

	[Service]
	Type=simple
	User=$SERVICE_USER
	Group=$group
	SupplementaryGroups=video
	EnvironmentFile=$config
	WorkingDirectory=$DATA_DIR
	ExecStart=$PREFIX/bin/server
	# SIGTERM to the server, which stops the cameras and finishes requests.
	KillMode=mixed
	TimeoutStopSec=30
	Restart=on-failure
	RestartSec=5
	# Logs go to the journal (journalctl -u avtosalon); rotation is journald's.
	NoNewPrivileges=yes
	ProtectSystem=strict
	ProtectHome=yes
	PrivateTmp=yes
	ReadWritePaths=$DATA_DIR
	ReadOnlyPaths=$CONFIG_DIR

	[Install]
	WantedBy=multi-user.target
EOF
cp "$(dirname "$0")/../README.md" "$PREFIX/README.md" 2>/dev/null || true

host=$(hostname 2>/dev/null || echo localhost)
echo
echo "Installed Avtosalon Analitika in $PREFIX (config $config, data $DATA_DIR)."
if [ "$START" = yes ] && [ -d /run/systemd/system ] && [ "$UNIT_DIR" = /etc/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable --now avtosalon.service
	systemctl restart avtosalon.service
	echo "The service runs now and at every boot: systemctl status avtosalon"
else
	echo "Start it with: systemctl daemon-reload && systemctl enable --now avtosalon"
fi
echo "Open https://$host:${TLS_BIND##*:} (tablets first install http://$host:${BIND##*:}/ca.crt)."
if [ -n "$password" ]; then
	echo "Sign in as: admin / $password   (change it in Profile; it is also in $config until then)"
else
	echo "Sign in as before (the config and data were kept)."
fi
