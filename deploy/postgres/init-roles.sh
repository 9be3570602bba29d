#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# creates Haven's roles from deploy/postgres/roles.sql and sets their passwords from the
# secret files (never from the environment). Re-run roles.sql after every `haven init` or
# upgrade (docs/operations.md): it grants on the tables that exist by then.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$(cat /run/secrets/haven_db_password)" \
    -v migrator_password="$(cat /run/secrets/haven_migrator_password)" \
    -f /etc/haven/roles.sql
