-- Audit (issue 7): auditing on "USER", workspace and account as the seed
-- does, the index one row's history needs, and the append-only guard on
-- audit_log.system_log.  Idempotent: a second run changes nothing, and a
-- table whose audit settings were changed with enable_audit() keeps them.

-- One row's history (zerocut.audit_history) needs no index of its own: audit
-- rows carry {schema, table, pk}, and idx_system_log_metadata_gin
-- (domain/20_indexes.sql, operator class jsonb_log_ops) keys each of them by
-- exactly its table and primary key.

-- The audit trigger writes only to a log a superuser or the extension's
-- owner owns (the log's owner reads and may remove every row): an installer
-- that is neither would make a log nobody can write to.  10_tables.sql has
-- already refused a log or schema another role made first.
DO $$
DECLARE
    owner oid := (SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'audit_log.system_log'::pg_catalog.regclass);
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = owner)
       AND owner <> (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'zerocut') THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = pg_catalog.format('audit_log.system_log is owned by role %I, not by a superuser or the owner of extension zerocut',
                                        pg_catalog.pg_get_userbyid(owner)),
            DETAIL = 'zerocut writes audit rows only to a log such a role owns.',
            HINT = 'Run zerocut.install_domain_schema() as a superuser, or ALTER TABLE audit_log.system_log OWNER TO one.';
    END IF;
END
$$;

-- Append-only for everyone but the owner: nothing granted, and a guard
-- trigger refuses UPDATE, DELETE and TRUNCATE even where a grant slipped in.
-- Retention drops or detaches monthly partitions (the partition manager).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log.system_log FROM PUBLIC;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'audit_log.system_log'::pg_catalog.regclass
                     AND tgname = 'zerocut_append_only' AND tgparentid = 0) THEN
        CREATE TRIGGER zerocut_append_only BEFORE UPDATE OR DELETE ON audit_log.system_log
            FOR EACH ROW EXECUTE FUNCTION zerocut.audit_log_guard();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'audit_log.system_log'::pg_catalog.regclass
                     AND tgname = 'zerocut_append_only_truncate' AND tgparentid = 0) THEN
        CREATE TRIGGER zerocut_append_only_truncate BEFORE TRUNCATE ON audit_log.system_log
            FOR EACH STATEMENT EXECUTE FUNCTION zerocut.audit_log_guard();
    END IF;
END
$$;

-- The TRUNCATE guard on every partition (PostgreSQL clones only the row
-- trigger); the event trigger zerocut_audit_log_partitions guards later ones.
SELECT zerocut.guard_audit_log_partitions() >= 0 AS partitions_guarded;

-- The seed's audit_trigger_function() on its three key tables, once.
DO $$
DECLARE
    target regclass;
BEGIN
    FOREACH target IN ARRAY ARRAY[
        'user_management."USER"', 'workspace_domain.workspace',
        'financial_management.account']::regclass[]
    LOOP
        IF NOT EXISTS (SELECT 1 FROM zerocut.audit_config c WHERE c.relation = target) THEN
            PERFORM zerocut.enable_audit(target);
        END IF;
    END LOOP;
END
$$;
