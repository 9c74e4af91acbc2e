-- The application role of the feedback store (login, no superuser, owns nothing), created or
-- its password reset by the schema owner, before grants.sql:
--   psql "$OWNER_URL" -v app_role=fraud_app -v app_password=... -f deploy/postgres/app-role.sql
-- Idempotent. The scorer, Dagster and fraudops connect as this role (FRAUD_DB_URL); only the
-- owner migrates the schema.
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'app_role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'app_role', :'app_password') \gexec
