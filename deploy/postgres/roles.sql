-- Haven's PostgreSQL roles and grants. Run with psql as a superuser, in Haven's database:
--   psql -v ON_ERROR_STOP=1 -d haven -v app_password=... -v migrator_password=... -f roles.sql
-- once before `haven init`, and AGAIN after `haven init` and after every upgrade: the
-- service's role gets rights only on the tables that exist when this runs (no default
-- privileges), so a new table is refused to the service until this is re-run, never
-- silently writable. It is idempotent. The passwords are optional (omit them to keep the
-- current ones); compose passes them from secret files (deploy/postgres/init-roles.sh).
--
--   haven_migrator  owns the schema and the tables: `haven init`, upgrades, restores.
--   haven_app       what `haven serve` connects as: reads and writes case data, may only
--                   INSERT into the audit log (no UPDATE, DELETE or TRUNCATE there), cannot
--                   alter a table, drop a trigger or change the schema version.
\set ON_ERROR_STOP on

SELECT 'CREATE ROLE haven_migrator LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'haven_migrator') \gexec
SELECT 'CREATE ROLE haven_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'haven_app') \gexec

\if :{?migrator_password}
ALTER ROLE haven_migrator PASSWORD :'migrator_password';
\endif
\if :{?app_password}
ALTER ROLE haven_app PASSWORD :'app_password';
\endif

-- Only Haven's roles connect to this database.
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO haven_migrator, haven_app;

-- Haven's tables live in their own schema, owned by the migrator.
CREATE SCHEMA IF NOT EXISTS haven AUTHORIZATION haven_migrator;
REVOKE ALL ON SCHEMA haven FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA haven TO haven_app;
ALTER ROLE haven_migrator IN DATABASE :"DBNAME" SET search_path = haven;
ALTER ROLE haven_app IN DATABASE :"DBNAME" SET search_path = haven;
-- A statement stuck on a lock must not hold the service forever.
ALTER ROLE haven_app IN DATABASE :"DBNAME" SET lock_timeout = '30s';
ALTER ROLE haven_app IN DATABASE :"DBNAME" SET idle_in_transaction_session_timeout = '5min';

-- The service: rows of every table that exists now (the schema itself is not its to change).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA haven TO haven_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA haven TO haven_app;
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA haven FROM haven_app;

-- The audit log is append-only for the service: INSERT and SELECT, nothing else. (The
-- tables' triggers refuse UPDATE and DELETE too; as a non-owner the service cannot drop
-- them.) audit_head is the one mutable row of the log: it stays writable.
SELECT format('REVOKE UPDATE, DELETE, TRUNCATE ON haven.%I FROM haven_app', t)
FROM unnest(ARRAY['audit_entries', 'audit_leaves', 'audit_checkpoints']) AS t
WHERE to_regclass(format('haven.%I', t)) IS NOT NULL \gexec
-- audit_pending holds entries committed and not yet in the tree: the service inserts a row
-- with each entry and its sequencer deletes it with the leaf it inserts; nothing updates it.
SELECT 'REVOKE UPDATE, TRUNCATE ON haven.audit_pending FROM haven_app'
WHERE to_regclass('haven.audit_pending') IS NOT NULL \gexec

-- The schema's version is the migrator's business.
SELECT 'REVOKE INSERT, UPDATE, DELETE ON haven.alembic_version FROM haven_app'
WHERE to_regclass('haven.alembic_version') IS NOT NULL \gexec
