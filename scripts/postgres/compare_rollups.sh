#!/bin/bash
# Compares the trigger-maintained roll-ups of SQLite and PostgreSQL.
#
#   1. triggers: both engines migrated (SQLite: migrations/sqlite, PostgreSQL:
#      migrations/postgres), then check_triggers.sql (the same text on both),
#      then dump_rollups.sql. PostgreSQL runs the scenario three times, with the
#      session TimeZone at UTC, Pacific/Kiritimati (+14) and America/St_Johns
#      (-3:30): the roll-ups must not depend on it.
#   2. backfill: the first migration, seed_backfill.sql, then the remaining
#      migrations (their backfill INSERTs build the roll-ups), then the dump.
#   3. rebuild: after scenario 1, the SELECTs of rebuild_rollups as SQLite runs
#      them (rebuild_select.sqlite.sql) against the PostgreSQL form proposed in
#      INVENTORY.md (rebuild_select.pg.sql).
#
# Exits 0 when every output is identical, 1 on any difference (diffs printed),
# 2 on a setup error. Runs itself under pg_virtualenv when no PostgreSQL
# server is given through PGHOST/PGPORT.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SQLITE_MIGRATIONS=${SQLITE_MIGRATIONS:-$ROOT/migrations/sqlite}
PG_MIGRATIONS=${PG_MIGRATIONS:-$ROOT/migrations/postgres}

if [ -z "${COMPARE_ROLLUPS_INNER:-}" ] && [ -z "${PGHOST:-}" ]; then
    export COMPARE_ROLLUPS_INNER=1
    exec pg_virtualenv -t -o fsync=off "$0" "$@"
fi

command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing" >&2; exit 2; }
command -v psql >/dev/null || { echo "psql missing" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failed=0

sqlite_run() { # db file...
    local db=$1; shift
    for f in "$@"; do
        sqlite3 -bail -cmd 'PRAGMA foreign_keys = ON' "$db" < "$f" >/dev/null \
            || { echo "SQLite failed on $f" >&2; exit 2; }
    done
}
sqlite_dump() { # db file
    sqlite3 -batch -bail -list -noheader -separator '|' "$1" < "$2"
}
pg_run() { # database file...
    local db=$1; shift
    for f in "$@"; do
        psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$f" >/dev/null \
            || { echo "PostgreSQL failed on $f" >&2; exit 2; }
    done
}
pg_dump_text() { # database file
    psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -d "$1" -f "$2"
}
compare() { # label expected actual
    if diff -u --label "sqlite: $1" --label "postgres: $1" "$2" "$3" > "$WORK/diff"; then
        echo "same:      $1 ($(wc -l < "$2") lines)"
    else
        echo "DIFFERENT: $1"
        cat "$WORK/diff"
        failed=1
    fi
}

mapfile -t SQLITE_FILES < <(ls "$SQLITE_MIGRATIONS"/*.sql | sort)
mapfile -t PG_FILES < <(ls "$PG_MIGRATIONS"/*.sql | sort)
# Every SQLite migration has its PostgreSQL translation of the same name; a PostgreSQL-only
# migration (an index only its planner needs) says so on its first line.
mapfile -t PG_PAIRED < <(for f in "${PG_FILES[@]}"; do head -1 "$f" | grep -q '^-- PostgreSQL only' || echo "$f"; done)
if [ "${#SQLITE_FILES[@]}" -ne "${#PG_PAIRED[@]}" ]; then
    echo "migration counts differ: ${#SQLITE_FILES[@]} SQLite, ${#PG_PAIRED[@]} PostgreSQL" >&2
    exit 2
fi
for i in "${!SQLITE_FILES[@]}"; do
    if [ "$(basename "${SQLITE_FILES[$i]}")" != "$(basename "${PG_PAIRED[$i]}")" ]; then
        echo "migration names differ: ${SQLITE_FILES[$i]} vs ${PG_PAIRED[$i]}" >&2
        exit 2
    fi
done

# 1. Triggers.
sqlite_run "$WORK/triggers.db" "${SQLITE_FILES[@]}" "$HERE/check_triggers.sql"
sqlite_dump "$WORK/triggers.db" "$HERE/dump_rollups.sql" > "$WORK/sqlite.triggers"
sqlite_dump "$WORK/triggers.db" "$HERE/rebuild_select.sqlite.sql" > "$WORK/sqlite.rebuild"
if [ "$(grep -vc '^==' "$WORK/sqlite.triggers")" -lt 40 ]; then
    echo "the SQLite scenario produced too few roll-up rows: the check proves nothing" >&2
    exit 2
fi

for zone in UTC Pacific/Kiritimati America/St_Johns; do
    db="triggers_$(echo "$zone" | tr -c 'A-Za-z0-9\n' '_')"
    createdb "$db"
    export PGOPTIONS="-c TimeZone=$zone"
    pg_run "$db" "${PG_FILES[@]}" "$HERE/check_triggers.sql"
    pg_dump_text "$db" "$HERE/dump_rollups.sql" > "$WORK/pg.triggers.$db"
    pg_dump_text "$db" "$HERE/rebuild_select.pg.sql" > "$WORK/pg.rebuild.$db"
    unset PGOPTIONS
    compare "trigger roll-ups (PostgreSQL TimeZone=$zone)" "$WORK/sqlite.triggers" "$WORK/pg.triggers.$db"
    compare "rebuild_rollups SELECTs (PostgreSQL TimeZone=$zone)" "$WORK/sqlite.rebuild" "$WORK/pg.rebuild.$db"
done

# 2. Backfill.
sqlite_run "$WORK/backfill.db" "${SQLITE_FILES[0]}" "$HERE/seed_backfill.sql" "${SQLITE_FILES[@]:1}"
sqlite_dump "$WORK/backfill.db" "$HERE/dump_rollups.sql" > "$WORK/sqlite.backfill"
createdb backfill
export PGOPTIONS="-c TimeZone=Pacific/Kiritimati"
pg_run backfill "${PG_FILES[0]}" "$HERE/seed_backfill.sql" "${PG_FILES[@]:1}"
pg_dump_text backfill "$HERE/dump_rollups.sql" > "$WORK/pg.backfill"
unset PGOPTIONS
compare "migration backfill" "$WORK/sqlite.backfill" "$WORK/pg.backfill"

if [ "$failed" -ne 0 ]; then
    echo "FAIL: the engines' roll-ups differ"
    exit 1
fi
echo "OK: roll-ups identical on SQLite $(sqlite3 --version | cut -d' ' -f1) and $(psql -X -A -t -c 'SHOW server_version' -d postgres)"
