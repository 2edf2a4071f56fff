#!/bin/sh
# The server's integration tests on PostgreSQL: a throw-away cluster from Debian's
# pg_virtualenv (nothing to install or clean up by hand), and in it a new database per test
# (tests/integration/common.rs reads TEST_POSTGRES_URL). Arguments go to `cargo test`.
set -eu
cd "$(dirname "$0")/../.."
exec pg_virtualenv -t -o fsync=off -o synchronous_commit=off -o full_page_writes=off \
	-o max_connections=400 sh -c '
	TEST_POSTGRES_URL="postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres" \
		cargo test -p server --test integration -- "$@"' sh "$@"
