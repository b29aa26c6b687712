-- This part: the migration ledger (docs/migrations.md).  Versioned,
-- checksummed schema migrations applied once, serialized on an advisory
-- lock, rolled back by their recorded rollback SQL; install_domain_schema()
-- records its own steps here too.

CREATE TABLE zerocut.migration_versions (
    version      text PRIMARY KEY CHECK (pg_catalog.btrim(version) <> '' AND pg_catalog.length(version) <= 200),
    description  text,
    checksum     text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    applied_by   name NOT NULL DEFAULT CURRENT_USER,
    duration     interval,
    rollback_sql text
);
COMMENT ON TABLE zerocut.migration_versions IS
    'The migration ledger: one row per applied migration (sha256 checksum of its SQL, line endings as LF; who, when, how long; rollback SQL) and per domain-schema step of install_domain_schema() (versions "zerocut.domain.*"); written by apply_migration(), rollback_migration() and install_domain_schema(); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.migration_versions FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.migration_versions', '');

CREATE FUNCTION zerocut.apply_migration(p_version text, p_description text, p_migration_sql text,
                                        p_rollback_sql text DEFAULT NULL) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_apply_migration';
COMMENT ON FUNCTION zerocut.apply_migration(text, text, text, text) IS
    'Runs p_migration_sql once as its caller and records p_version with its checksum: true when applied, false (NOTICE) when applied before with the same SQL, 55000 when with other SQL; serialized on an advisory lock; an error rolls everything back and names the version and SQLSTATE; superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.apply_migration(text, text, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.rollback_migration(p_version text) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_rollback_migration';
COMMENT ON FUNCTION zerocut.rollback_migration(text) IS
    'Runs the recorded rollback SQL of p_version as its caller and removes the ledger row: 42704 when not applied, 55000 without rollback SQL; an error rolls everything back and names the version and SQLSTATE; superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.rollback_migration(text) FROM PUBLIC;

-- SECURITY DEFINER: a role granted EXECUTE sees what is applied without
-- SELECT on the ledger, whose rollback SQL it does not see.
CREATE FUNCTION zerocut.migration_status()
    RETURNS TABLE (version text, description text, checksum text, applied_at timestamptz, applied_by name,
                   duration interval, has_rollback boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT m.version, m.description, m.checksum, m.applied_at, m.applied_by, m.duration, m.rollback_sql IS NOT NULL
    FROM zerocut.migration_versions m
    ORDER BY m.applied_at, m.version;
END;
COMMENT ON FUNCTION zerocut.migration_status() IS
    'The applied migrations and domain-schema steps in the order they were applied (applied_at, then version), without their rollback SQL (has_rollback says whether there is one); revoked from PUBLIC, grant EXECUTE to let a role see them';
REVOKE ALL ON FUNCTION zerocut.migration_status() FROM PUBLIC;
