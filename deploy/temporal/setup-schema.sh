#!/bin/sh
# One-shot (service `temporal-schema`, image temporalio/admin-tools): create Temporal's two
# PostgreSQL databases and bring their schemas to the version this admin-tools release ships,
# with Temporal's own temporal-sql-tool (Temporal's compose files do the same).
#
# Safe to run on every `docker compose up`: `create` accepts a database that exists,
# `setup-schema -v 0.0` leaves a schema that is already past 0.0 alone, and `update-schema`
# applies only the versions not yet applied, which is also how a Temporal upgrade migrates.
#
# Environment: POSTGRES_SEEDS (host), DB_PORT, POSTGRES_USER, SQL_PASSWORD (read by the tool).
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port="${DB_PORT:-5432}"
schema_dir=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" \
    --db "$db" "$@"
}

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$schema_dir/temporal/versioned" ;;
    *) dir="$schema_dir/visibility/versioned" ;;
  esac
  echo "schema of database $db on $POSTGRES_SEEDS:$port"
  sql create
  sql setup-schema -v 0.0
  sql update-schema -d "$dir"
done
echo "Temporal schema is current"
