-- Privileges of the application role on the feedback store, applied by the schema owner after
-- migrations (the role must not own the tables: an owner can grant itself anything back):
--   psql "$OWNER_URL" -v app_role=fraud_app -f deploy/postgres/grants.sql
-- Applies to the connection's current schema; idempotent (re-run it after each migration).
-- The app reads and writes every table but can only append to audit_log (no UPDATE, DELETE or
-- TRUNCATE, whatever the triggers) and cannot change alembic_version.
\set ON_ERROR_STOP on
SELECT set_config('fraud.app_role', :'app_role', false);
DO $$
DECLARE
    app text := current_setting('fraud.app_role');
    s text := current_schema();
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, app);
    EXECUTE format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', s, app);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', s, app);
    EXECUTE format('REVOKE ALL ON %I.audit_log FROM PUBLIC, %I', s, app);
    EXECUTE format('GRANT SELECT, INSERT ON %I.audit_log TO %I', s, app);
    EXECUTE format('REVOKE ALL ON %I.alembic_version FROM PUBLIC, %I', s, app);
    EXECUTE format('GRANT SELECT ON %I.alembic_version TO %I', s, app);
END
$$;
