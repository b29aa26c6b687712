-- zerocut 0.1.0 -> 0.2.0 (issue 14).  Brings a 0.1.0 install to exactly
-- what a fresh 0.2.0 install creates (test/e2e/upgrade_from_0.1.0.sh checks
-- every member object, function definition and table column), keeping
-- every row and setting.
\echo Use "ALTER EXTENSION zerocut UPDATE TO '0.2.0'" to load this file. \quit

-- Partition manager: new checks and per-parent isolation, described.
COMMENT ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) IS
    'Registers a RANGE-partitioned parent for maintenance and creates its default partition and every partition from the start (given, oldest row, or now) through now + premake; refuses a retention that is not a positive interval of at most 1000 years or is shorter than the table''s archive policy keep (docs/partitions.md), and a granularity change overlapping existing partitions';
COMMENT ON FUNCTION zerocut.run_maintenance(regclass) IS
    'For every managed parent (or the one given): creates partitions through now + premake, moves default-partition rows into their partitions, applies retention; logs every action; skips a parent it cannot lock within zerocut.partition_lock_timeout; each parent runs in its own subtransaction: a failing one is rolled back, returned as an error row, logged at ERROR level and kept as its last_outcome, and the others proceed; the work runs as each table''s owner; a parent the caller does not own is refused (given) or returned as a skip row and left alone (all)';
COMMENT ON FUNCTION zerocut.convert_to_partitioned(regclass, name, text) IS
    'Turns a plain table into a managed RANGE-partitioned table of the same name, keeping rows (attached as a legacy partition without copying, its bound proved on a fresh snapshot under ACCESS EXCLUSIVE), defaults, indexes, constraints, foreign keys, grants, triggers and sequence ownership';

-- Partition manager privileges (issue 15): run_maintenance_proc() loops over
-- the parents the current user may have maintained, read without a grant on
-- zerocut.partition_config.
CREATE FUNCTION zerocut.managed_parents()
    RETURNS TABLE(parent regclass, may_maintain boolean)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_managed_parents';
COMMENT ON FUNCTION zerocut.managed_parents() IS
    'Every parent zerocut manages, and whether the current user may have it maintained (its owner or a superuser; the audit log only a superuser or the extension owner); what run_maintenance_proc() loops over, without a grant on zerocut.partition_config';
REVOKE ALL ON FUNCTION zerocut.managed_parents() FROM PUBLIC;

CREATE OR REPLACE PROCEDURE zerocut.run_maintenance_proc()
    LANGUAGE plpgsql
AS $$
DECLARE
    managed regclass;
    allowed boolean;
    skipped text[] := '{}';
BEGIN
    -- One transaction per parent, so a long run holds no lock for long.  The
    -- parents the current user may not have maintained are left alone.
    FOR managed, allowed IN SELECT m.parent, m.may_maintain FROM zerocut.managed_parents() m
                            ORDER BY m.parent::pg_catalog.oid LOOP
        IF allowed THEN
            PERFORM zerocut.run_maintenance(managed);
            COMMIT;
        ELSE
            skipped := skipped OPERATOR(pg_catalog.||) managed::pg_catalog.text;
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(skipped) > 0 THEN
        RAISE NOTICE 'zerocut: run_maintenance_proc() skipped % managed tables the current user may not maintain: %',
            pg_catalog.cardinality(skipped), pg_catalog.array_to_string(skipped, ', ')
            USING HINT = 'Run it as their owner or as a superuser.';
    END IF;
END
$$;
COMMENT ON PROCEDURE zerocut.run_maintenance_proc() IS
    'CALL zerocut.run_maintenance_proc(): run_maintenance() for each managed parent the current user may have maintained (zerocut.managed_parents()), committing after each (for pg_cron); the others are named in a NOTICE';

-- Partitions 0.1.0 made belong to whoever called it (often a superuser);
-- 0.2.0 works on a partition as its parent's owner and fails a parent whose
-- partition it must touch belongs to another role (docs/partitions.md,
-- "Privileges").  Every partition of a managed parent (one level: what
-- zerocut made) owned by a role that cannot be the parent's owner's doing --
-- a superuser or the extension's owner -- while the parent is another
-- role's, is given to the parent's owner with the parent's grants (table
-- and column), row-level security flags and policies, as 0.2.0 makes new
-- partitions; a WARNING names each (an extension script shows nothing
-- below WARNING).  Partitions of other roles are left alone (maintenance
-- names them; docs/partitions.md says what to do).
DO $zc_partition_owners$
DECLARE
    part record;
    item record;
    command text;
BEGIN
    FOR part IN
        SELECT c.oid AS relid, c.oid::pg_catalog.regclass::pg_catalog.text AS name,
               pc.oid AS parent, pc.oid::pg_catalog.regclass::pg_catalog.text AS parent_name,
               pg_catalog.pg_get_userbyid(pc.relowner) AS new_owner,
               pg_catalog.pg_get_userbyid(c.relowner) AS old_owner,
               pc.relrowsecurity, pc.relforcerowsecurity
        FROM zerocut.partition_config cfg
        JOIN pg_catalog.pg_class pc ON pc.oid = cfg.parent::pg_catalog.oid
        JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
        JOIN pg_catalog.pg_inherits i ON i.inhparent = pc.oid
        JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
        JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
        WHERE pn.nspname NOT IN ('zerocut', 'audit_log')
          AND c.relowner <> pc.relowner
          AND (r.rolsuper OR c.relowner = (SELECT e.extowner FROM pg_catalog.pg_extension e
                                          WHERE e.extname = 'zerocut'))
          AND NOT (SELECT p.rolsuper FROM pg_catalog.pg_roles p WHERE p.oid = pc.relowner)
        ORDER BY 2
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', part.name, part.new_owner);
        FOR item IN
            SELECT a.privilege_type,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                        ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee,
                   a.is_grantable
            FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
            WHERE c.oid = part.parent AND a.grantee <> c.relowner ORDER BY 1, 2
        LOOP
            EXECUTE pg_catalog.format('GRANT %s ON TABLE %s TO %s%s', item.privilege_type, part.name, item.grantee,
                                      CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        FOR item IN
            SELECT a.privilege_type, att.attname,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                        ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee,
                   a.is_grantable
            FROM pg_catalog.pg_attribute att JOIN pg_catalog.pg_class c ON c.oid = att.attrelid,
                 pg_catalog.aclexplode(att.attacl) a
            WHERE att.attrelid = part.parent AND att.attnum > 0 AND NOT att.attisdropped
              AND a.grantee <> c.relowner
              AND EXISTS (SELECT FROM pg_catalog.pg_attribute t WHERE t.attrelid = part.relid
                          AND t.attname = att.attname AND NOT t.attisdropped)
            ORDER BY 1, 2, 3
        LOOP
            EXECUTE pg_catalog.format('GRANT %s (%I) ON TABLE %s TO %s%s', item.privilege_type, item.attname,
                                      part.name, item.grantee,
                                      CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        IF part.relrowsecurity THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part.name);
        END IF;
        IF part.relforcerowsecurity THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part.name);
        END IF;
        FOR item IN
            SELECT p.polname,
                   CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS kind,
                   CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                 WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                   (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                                                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ')
                    FROM pg_catalog.unnest(p.polroles) r) AS roles,
                   pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
                   pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
            FROM pg_catalog.pg_policy p
            WHERE p.polrelid = part.parent
              AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy q WHERE q.polrelid = part.relid
                              AND q.polname = p.polname)
            ORDER BY p.polname
        LOOP
            command := pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s', item.polname, part.name,
                                         item.kind, item.cmd, item.roles);
            IF item.qual IS NOT NULL THEN
                command := command OPERATOR(pg_catalog.||) ' USING (' OPERATOR(pg_catalog.||) item.qual
                           OPERATOR(pg_catalog.||) ')';
            END IF;
            IF item.check_expr IS NOT NULL THEN
                command := command OPERATOR(pg_catalog.||) ' WITH CHECK (' OPERATOR(pg_catalog.||) item.check_expr
                           OPERATOR(pg_catalog.||) ')';
            END IF;
            EXECUTE command;
        END LOOP;
        RAISE WARNING 'zerocut: partition % of % now belongs to %, the parent''s owner (was %), with the parent''s grants, row-level security and policies',
            part.name, part.parent_name, part.new_owner, part.old_owner;
    END LOOP;
END
$zc_partition_owners$;

-- Archive policies by name instead of OID (pg_dump writes names), with the
-- target always stored.  A 0.1.0 policy without a target archived into
-- archive.<table>_archive and keeps doing so; a policy whose table no longer
-- exists is dropped, as 0.2.0 drops the policy of a dropped table.  The
-- table is made anew so its columns, constraints and names are a fresh
-- install's.
CREATE TABLE zerocut.archive_policy_0_2_0 (
    source_schema    name NOT NULL,
    source_table     name NOT NULL,
    time_column      name NOT NULL,
    keep             interval NOT NULL CHECK (keep > interval '0' AND keep <= interval '1000 years'),
    target_schema    name NOT NULL,
    target_table     name NOT NULL,
    batch_size       integer NOT NULL DEFAULT 10000 CHECK (batch_size BETWEEN 1 AND 1000000),
    whole_partitions boolean NOT NULL DEFAULT false,
    source_owner     name,
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (source_schema, source_table)
);
INSERT INTO zerocut.archive_policy_0_2_0
    (source_schema, source_table, time_column, keep, target_schema, target_table, batch_size, whole_partitions,
     source_owner, updated_at)
SELECT sn.nspname, sc.relname, p.time_column, LEAST(p.keep, interval '1000 years'),
       COALESCE(tn.nspname, 'archive'), COALESCE(tc.relname, (sc.relname || '_archive')::name),
       LEAST(p.batch_size, 1000000), p.whole_partitions, pg_catalog.pg_get_userbyid(sc.relowner), p.updated_at
FROM zerocut.archive_policy p
JOIN pg_catalog.pg_class sc ON sc.oid = p.source
JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
LEFT JOIN pg_catalog.pg_class tc ON tc.oid = p.target
LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
WHERE sc.relpersistence <> 't';
-- Leaving the extension first also takes the table out of its pg_dump
-- config list (a dropped member would stay there as a bare OID).
ALTER EXTENSION zerocut DROP TABLE zerocut.archive_policy;
DROP TABLE zerocut.archive_policy;
ALTER TABLE zerocut.archive_policy_0_2_0 RENAME TO archive_policy;
ALTER TABLE zerocut.archive_policy RENAME CONSTRAINT archive_policy_0_2_0_pkey TO archive_policy_pkey;
ALTER TABLE zerocut.archive_policy RENAME CONSTRAINT archive_policy_0_2_0_keep_check TO archive_policy_keep_check;
ALTER TABLE zerocut.archive_policy RENAME CONSTRAINT archive_policy_0_2_0_batch_size_check TO archive_policy_batch_size_check;
COMMENT ON TABLE zerocut.archive_policy IS
    'One row per archived table, by name (pg_dump keeps names, never OIDs): rows with time_column older than CURRENT_DATE - keep move to the target table (created like the source when missing); whole_partitions rounds the cutoff down to a partition boundary.  A dropped source forgets its policy';
COMMENT ON COLUMN zerocut.archive_policy.target_schema IS
    'Schema of the archive table; by default the source''s schema with _archive appended (archive for public), fixed when the policy is first set';
COMMENT ON COLUMN zerocut.archive_policy.target_table IS
    'Name of the archive table; by default the source''s name with _archive appended (cut and suffixed with a hash beyond 63 bytes)';
COMMENT ON COLUMN zerocut.archive_policy.source_owner IS
    'The role that owned the source when the policy was set (by name): the policy is applied only while the table of that name has this owner (an error row otherwise, until the owner sets it again); NULL for a row written by hand: any owner';
SELECT pg_catalog.pg_extension_config_dump('zerocut.archive_policy', '');

-- 0.1.0 made archive tables as whoever ran archive() (a superuser, mostly);
-- 0.2.0 archives only into a table of the source's owner.  An archive
-- table 0.1.0 made for a policy's source (its comment says so) that
-- belongs to a superuser or the extension's owner while the source does
-- not is given to the source's owner, with the partitions of it that the
-- same role owns (0.1.0 made them too); a WARNING names each (an
-- extension script's NOTICEs are not shown: it runs with
-- client_min_messages at WARNING at least).  The new
-- owner also gets USAGE and CREATE on the archive schema 0.1.0 made (it
-- belongs to the same kind of role), as 0.2.0 grants on the archive schemas
-- it makes: the archive works in it as the source's owner.  A table that
-- cannot be given (the updating role may not) gets a WARNING with the
-- command to run.
DO $$
DECLARE
    t record;
    part regclass;
BEGIN
    FOR t IN
        SELECT tc.oid::pg_catalog.regclass AS target, tc.relowner AS old_owner, sc.relowner AS new_owner,
               pg_catalog.format('%I.%I', p.source_schema, p.source_table) AS source, tn.nspname AS schema,
               (SELECT s.rolsuper OR s.oid = (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'zerocut')
                FROM pg_catalog.pg_roles s WHERE s.oid = tn.nspowner) AS trusted_schema
        FROM zerocut.archive_policy p
        JOIN pg_catalog.pg_namespace sn ON sn.nspname = p.source_schema
        JOIN pg_catalog.pg_class sc ON sc.relnamespace = sn.oid AND sc.relname = p.source_table
        JOIN pg_catalog.pg_namespace tn ON tn.nspname = p.target_schema
        JOIN pg_catalog.pg_class tc ON tc.relnamespace = tn.oid AND tc.relname = p.target_table
        JOIN pg_catalog.pg_roles r ON r.oid = tc.relowner
        WHERE tc.relkind IN ('r', 'p') AND tc.relowner <> sc.relowner
          AND pg_catalog.obj_description(tc.oid, 'pg_class') =
              'zerocut archive of ' OPERATOR(pg_catalog.||) pg_catalog.format('%I.%I', p.source_schema, p.source_table)
          AND (r.rolsuper OR r.oid = (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'zerocut'))
        ORDER BY p.target_schema, p.target_table
    LOOP
        BEGIN
            FOR part IN
                SELECT c.oid::pg_catalog.regclass
                FROM pg_catalog.pg_partition_tree(t.target) pt JOIN pg_catalog.pg_class c ON c.oid = pt.relid
                WHERE c.relowner = t.old_owner ORDER BY pt.level, c.relname
            LOOP
                EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', part, pg_catalog.pg_get_userbyid(t.new_owner));
                RAISE WARNING 'zerocut: archive table % of % now belongs to role %, the owner of its source (was %)',
                    part, t.source, pg_catalog.pg_get_userbyid(t.new_owner), pg_catalog.pg_get_userbyid(t.old_owner);
            END LOOP;
            IF t.trusted_schema AND NOT (pg_catalog.has_schema_privilege(t.new_owner, t.schema, 'USAGE')
                                     AND pg_catalog.has_schema_privilege(t.new_owner, t.schema, 'CREATE')) THEN
                EXECUTE pg_catalog.format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', t.schema,
                                          pg_catalog.pg_get_userbyid(t.new_owner));
                RAISE WARNING 'zerocut: role % may now use and create tables in archive schema %',
                    pg_catalog.pg_get_userbyid(t.new_owner), pg_catalog.quote_ident(t.schema);
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'zerocut: archive table % of % belongs to role %, not to %, the owner of its source: archive() refuses it',
                t.target, t.source, pg_catalog.pg_get_userbyid(t.old_owner), pg_catalog.pg_get_userbyid(t.new_owner)
                USING HINT = pg_catalog.format('As a superuser: ALTER TABLE %s OWNER TO %I; (and its partitions)',
                                               t.target, pg_catalog.pg_get_userbyid(t.new_owner));
        END;
    END LOOP;
END
$$;

COMMENT ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean) IS
    'Creates or replaces the archive policy of a table: time column, how long rows stay (positive, at most 1000 years), target table (NULL: the stored one if the policy was set for the same owner, else <schema>_archive.<table>_archive, archive.<table>_archive for public; its schema must belong to the source''s owner, its schema''s owner or a superuser), rows per batch (1..1000000), and whether the cutoff rounds down to whole partitions; TEMP tables are refused; the caller must own source and target, which must have the same owner (42501), and zerocut''s own tables are refused (42809); records the table''s owner (source_owner)';

COMMENT ON FUNCTION zerocut.archive_partition(regclass) IS
    'Detaches one partition from its parent and attaches it to the parent''s archive target (metadata only, no row copied, no scan), as the parent''s owner; the caller must own the partition and its parent; returns its qualified name';

-- archive() reports each policy's status and error: a new result type.
DROP FUNCTION zerocut.archive(regclass);
CREATE FUNCTION zerocut.archive(source regclass DEFAULT NULL)
    RETURNS TABLE (source regclass, rows_moved bigint, partitions_moved integer, method text, duration interval,
                   status text, error text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_archive';
COMMENT ON FUNCTION zerocut.archive(regclass) IS
    'Applies every archive policy (or the one of source) in one transaction, each in its own subtransaction: whole old partitions move by metadata, other old rows in batches; one row per policy, status ok, skipped (a lock was busy; error says which) or error (its work rolled back, error holds the message, an ERROR row is logged; the other policies proceed); source is NULL for a policy whose table no longer exists under its name; rows move as the table''s owner (security-restricted); a caller who is not superuser must own source, and without source runs only the policies of tables it owns';
REVOKE ALL ON FUNCTION zerocut.archive(regclass) FROM PUBLIC;

COMMENT ON PROCEDURE zerocut.archive_proc(regclass, integer) IS
    'Like archive(), committing after every batch and every partition move (CALL at top level); safe to cancel and resume; max_batches limits the work of one call; a failing or skipped policy is reported with a WARNING and the others proceed; rows move as the table''s owner, as in archive()';

COMMENT ON FUNCTION zerocut.restore_archived(regclass, timestamptz, timestamptz) IS
    'Moves the archived rows of source with from_ts <= time < to_ts back into source in one statement (from_ts may be -infinity; to_ts infinity means no upper bound, rows at +infinity included), as the source''s owner (the caller must own it); returns the rows moved';

-- A dropped table forgets its archive policy (policies are stored by name:
-- a stale one could otherwise name a later table of the same name).
CREATE FUNCTION zerocut.archive_policy_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM zerocut.archive_policy p
    USING pg_catalog.pg_event_trigger_dropped_objects() d
    WHERE d.object_type = 'table' AND NOT d.is_temporary
      AND p.source_schema = d.schema_name AND p.source_table = d.object_name;
END
$$;
COMMENT ON FUNCTION zerocut.archive_policy_forget_dropped() IS
    'sql_drop event trigger function: deletes the archive policies of dropped tables';
REVOKE ALL ON FUNCTION zerocut.archive_policy_forget_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_archive_policy_forget_dropped ON sql_drop
    EXECUTE FUNCTION zerocut.archive_policy_forget_dropped();
COMMENT ON EVENT TRIGGER zerocut_archive_policy_forget_dropped IS
    'Deletes the archive policy of a dropped table (DROP TABLE, DROP SCHEMA ... CASCADE, DROP OWNED)';

-- Security (issue 15): PUBLIC may execute only what sql/zz_catalog.sql lists.
REVOKE ALL ON FUNCTION zerocut.boundary_selftest(text) FROM PUBLIC;

-- ------------------------------------------------------------- crypto --
-- Issue 15: version 1 of a key (its blind indexes) is kept; a registry of
-- protected columns that the protect trigger checks (it is no longer
-- PUBLIC's) and the audit trigger redacts.

-- Blind indexes are derived from version 1 of a key: it may not go while
-- other versions of the key remain (deleting every version drops the key).
CREATE FUNCTION zerocut.encryption_keys_keep_first_version() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    orphan text;
BEGIN
    SELECT o.name INTO orphan
    FROM old_keys o
    WHERE o.version = 1
      AND EXISTS (SELECT FROM zerocut.encryption_keys k WHERE k.name = o.name)
      AND NOT EXISTS (SELECT FROM zerocut.encryption_keys k WHERE k.name = o.name AND k.version = 1)
    LIMIT 1;
    IF orphan IS NOT NULL THEN
        RAISE EXCEPTION 'version 1 of encryption key "%" cannot be removed while other versions of it remain', orphan
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The blind indexes of a key (zerocut.blind_index(), protect_column()) are derived from its version 1.',
                  HINT = 'Delete every version of the key to drop it, or keep version 1.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION zerocut.encryption_keys_keep_first_version() IS
    'Statement trigger on zerocut.encryption_keys: refuses a DELETE or UPDATE that removes version 1 of a key while other versions remain (its blind indexes are derived from version 1)';
REVOKE ALL ON FUNCTION zerocut.encryption_keys_keep_first_version() FROM PUBLIC;
CREATE TRIGGER keep_first_version_on_delete AFTER DELETE ON zerocut.encryption_keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.encryption_keys_keep_first_version();
CREATE TRIGGER keep_first_version_on_update AFTER UPDATE ON zerocut.encryption_keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.encryption_keys_keep_first_version();

-- The registry of protected columns, written by protect_column() as the
-- extension's owner; protect_column_trigger() works only for what it
-- records, and the audit trigger redacts every column in it.
CREATE TABLE zerocut.protected_column (
    relation           regclass NOT NULL,
    column_name        name NOT NULL,
    key_name           text NOT NULL,
    context            text NOT NULL,
    blind_index_column name,
    keep_plaintext     boolean NOT NULL,
    protected_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (relation, column_name)
);
COMMENT ON TABLE zerocut.protected_column IS
    'Columns protected by protect_column(): key, context (bound into every ciphertext), blind-index column, keep_plaintext; the protect trigger refuses any relation or column not recorded here, the audit trigger redacts them. Kept by pg_dump';
REVOKE ALL ON TABLE zerocut.protected_column FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.protected_column', '');

CREATE FUNCTION zerocut.protected_column_invalidate() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_protected_column_invalidate';
COMMENT ON FUNCTION zerocut.protected_column_invalidate() IS
    'Statement trigger on zerocut.protected_column: any change invalidates every backend''s relcache, so the protect triggers and the audit trigger''s redacted columns see it at once';
REVOKE ALL ON FUNCTION zerocut.protected_column_invalidate() FROM PUBLIC;
CREATE TRIGGER protected_column_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.protected_column
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.protected_column_invalidate();

-- A dropped table leaves the registry (its OID could otherwise be reused).
CREATE FUNCTION zerocut.protected_column_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped pg_catalog.oid[];
BEGIN
    SELECT pg_catalog.array_agg(p.relation::pg_catalog.oid) INTO dropped
    FROM zerocut.protected_column p
    JOIN pg_catalog.pg_event_trigger_dropped_objects() d
      ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
     AND d.objid = p.relation::pg_catalog.oid;
    IF dropped IS NOT NULL THEN  -- (a DELETE of nothing would still flush every relcache)
        DELETE FROM zerocut.protected_column WHERE relation::pg_catalog.oid = ANY (dropped);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.protected_column_forget_dropped() IS
    'sql_drop event trigger function: deletes the protected_column rows of dropped tables';
REVOKE ALL ON FUNCTION zerocut.protected_column_forget_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_protected_column_forget_dropped ON sql_drop
    EXECUTE FUNCTION zerocut.protected_column_forget_dropped();
COMMENT ON EVENT TRIGGER zerocut_protected_column_forget_dropped IS
    'Deletes the protected_column rows of a dropped table (DROP TABLE, DROP SCHEMA ... CASCADE, DROP OWNED)';

-- DROP EXTENSION zerocut says what it drops (configuration and keys are
-- extension tables; the protect triggers go with CASCADE).
CREATE FUNCTION zerocut.warn_drop_extension() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_warn_drop_extension';
COMMENT ON FUNCTION zerocut.warn_drop_extension() IS
    'ddl_command_start event trigger function: before DROP EXTENSION zerocut, a WARNING with the protected columns, encryption keys, managed partitioned tables, archive policies and audited tables that go with it';
REVOKE ALL ON FUNCTION zerocut.warn_drop_extension() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_warn_drop_extension ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION zerocut.warn_drop_extension();
COMMENT ON EVENT TRIGGER zerocut_warn_drop_extension IS
    'Warns, before DROP EXTENSION zerocut, what configuration and keys it drops';

COMMENT ON FUNCTION zerocut.protect_column_trigger() IS
    'BEFORE INSERT OR UPDATE row trigger made by protect_column(): encrypts <col> into <col>_encrypted (never twice), writes <col>_bidx, blanks <col> unless keep_plaintext; refuses (42501) a relation or column not recorded in zerocut.protected_column';
REVOKE ALL ON FUNCTION zerocut.protect_column_trigger() FROM PUBLIC;

-- The columns a 0.1.0 protect_column() protected: its triggers' arguments
-- (column, key, blind index, keep_plaintext, context), read byte-exactly.
-- In 0.1.0 anyone could run protect_column_trigger(), so a table owner could
-- have made such a trigger by hand with another column's context (a
-- decryption and blind-index oracle) or under a key it may not use.  Only
-- what protect_column() itself would make now is adopted: trigger
-- zc_protect_<col> on a table (not temporary, not zerocut's), with the
-- context it builds (schema.table.column), whose owner may use the key as
-- protect_column() now requires (EXECUTE on encrypt(), and blind_index()
-- for a blind index, for the column's type).  Any other is left unrecorded
-- (the trigger then refuses every write, 42501) and listed in a WARNING.
DO $$
DECLARE
    t record;
    args text[];
    rest bytea;
    cut integer;
    col_type text;
    why text;
    refused text[] := '{}';
BEGIN
    FOR t IN SELECT g.tgrelid, g.tgname, g.tgargs, c.relkind, c.relpersistence, c.relowner, c.relname,
                    n.nspname
             FROM pg_catalog.pg_trigger g
             JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE g.tgfoid = 'zerocut.protect_column_trigger()'::pg_catalog.regprocedure
               AND g.tgparentid = 0 AND g.tgnargs = 5
             ORDER BY n.nspname, c.relname, g.tgname
    LOOP
        args := '{}';
        rest := t.tgargs;
        FOR i IN 1..5 LOOP
            cut := pg_catalog.position(rest, '\x00'::bytea);
            args := args OPERATOR(pg_catalog.||) pg_catalog.convert_from(pg_catalog.substr(rest, 1, cut - 1),
                                                                        pg_catalog.current_setting('server_encoding'));
            rest := pg_catalog.substr(rest, cut + 1);
        END LOOP;
        SELECT CASE WHEN a.atttypid = 'pg_catalog.bytea'::pg_catalog.regtype THEN 'bytea' ELSE 'text' END
        INTO col_type
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = t.tgrelid AND a.attname OPERATOR(pg_catalog.=) args[1]::pg_catalog.name
          AND a.attnum > 0 AND NOT a.attisdropped;
        why := CASE
            WHEN t.tgname OPERATOR(pg_catalog.<>) ('zc_protect_' OPERATOR(pg_catalog.||) args[1])::pg_catalog.name
                THEN 'not named zc_protect_' OPERATOR(pg_catalog.||) args[1]
            WHEN t.relkind NOT IN ('r', 'p') OR t.relpersistence = 't' OR t.nspname = 'zerocut'
                THEN 'not on a table protect_column() protects: temporary, not a table, or zerocut''s own'
            WHEN col_type IS NULL
                THEN 'its column does not exist'
            WHEN args[5] OPERATOR(pg_catalog.<>) (t.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
                                                 t.relname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) args[1])
                THEN pg_catalog.format('context %L is not the column''s own', args[5])
            WHEN NOT pg_catalog.has_function_privilege(t.relowner, 'zerocut.encrypt(' OPERATOR(pg_catalog.||) col_type
                                                       OPERATOR(pg_catalog.||) ', text, text)', 'EXECUTE')
                 OR (args[3] = 'true' AND NOT pg_catalog.has_function_privilege(
                         t.relowner, 'zerocut.blind_index(' OPERATOR(pg_catalog.||) col_type OPERATOR(pg_catalog.||)
                         ', text)', 'EXECUTE'))
                THEN pg_catalog.format('the table''s owner may not use key %L', args[2])
        END;
        IF why IS NOT NULL THEN
            refused := refused OPERATOR(pg_catalog.||)
                pg_catalog.format('trigger %I on %I.%I (%s)', t.tgname, t.nspname, t.relname, why);
            CONTINUE;
        END IF;
        INSERT INTO zerocut.protected_column (relation, column_name, key_name, context, blind_index_column,
                                              keep_plaintext)
        VALUES (t.tgrelid, args[1], args[2], args[5],
                CASE WHEN args[3] = 'true' THEN args[1] OPERATOR(pg_catalog.||) '_bidx' END, args[4] = 'true')
        ON CONFLICT DO NOTHING;
    END LOOP;
    IF pg_catalog.cardinality(refused) > 0 THEN
        RAISE WARNING 'zerocut: % protect_column_trigger() trigger(s) not adopted as protected columns; writes through them now fail (42501): %',
            pg_catalog.cardinality(refused), pg_catalog.array_to_string(refused, '; ')
            USING HINT = 'Run SELECT zerocut.protect_column(tbl, col, key_name) again (as a role that may use the key; it keeps the context schema.table.column) for a column that should stay protected, or drop the trigger.';
    END IF;
END
$$;

-- Audit (issue 15): PUBLIC no longer reads the audited tables' list nor runs
-- the trigger functions; every partition of the log is guarded against
-- TRUNCATE (existing ones here, later ones by the event trigger).
REVOKE ALL ON zerocut.audit_config FROM PUBLIC;
-- audit_config finds its tables by OID (relation), which follows renames;
-- 0.1.0's rows are matched by name.  A row whose table is gone or was
-- renamed under 0.1.0 (its name finds nothing) is dropped: 0.2.0's trigger
-- refuses such a table until its owner runs enable_audit() again.
ALTER TABLE zerocut.audit_config ADD COLUMN relation regclass;
UPDATE zerocut.audit_config
SET relation = pg_catalog.to_regclass(pg_catalog.quote_ident(schema_name) OPERATOR(pg_catalog.||) '.'
                                      OPERATOR(pg_catalog.||) pg_catalog.quote_ident(table_name));
DELETE FROM zerocut.audit_config WHERE relation IS NULL;
ALTER TABLE zerocut.audit_config ALTER COLUMN relation SET NOT NULL,
    DROP CONSTRAINT audit_config_pkey, ADD PRIMARY KEY (relation);
COMMENT ON TABLE zerocut.audit_config IS
    'Audited tables and their settings, written by enable_audit()/disable_audit(); the triggers carry the same settings as arguments; a row follows its table through renames and goes with it when it is dropped. Kept by pg_dump';
COMMENT ON COLUMN zerocut.audit_config.relation IS
    'The audited table (its OID: the audit trigger logs only for a table recorded here); schema_name and table_name are its current names';
COMMENT ON FUNCTION zerocut.audit_trigger_function() IS
    'AFTER trigger (row mode, statement mode with transition tables, or TRUNCATE) created by enable_audit(): writes each change of a table recorded in zerocut.audit_config to audit_log.system_log as {operation, schema, table, relid, pk, old_data, new_data, xid, session_user, current_user, application_name}, with redaction and changed-column deltas; user_id from app.current_user_id; refuses (42501) a table enable_audit() did not record';
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM PUBLIC;
COMMENT ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean) IS
    'Audits a table its caller owns (one trigger set on a partitioned parent; never zerocut''s own tables): mode row or statement, excluded columns never logged in clear, changed_only stores the primary key and changed columns; idempotent; settings in zerocut.audit_config; needs the log install_domain_schema() made (refuses a missing, foreign-owned or reshaped one)';
COMMENT ON FUNCTION zerocut.audit_log_guard() IS
    'BEFORE UPDATE/DELETE/TRUNCATE trigger keeping audit_log.system_log and its partitions append-only for everyone but their owner';
REVOKE ALL ON FUNCTION zerocut.audit_log_guard() FROM PUBLIC;
CREATE FUNCTION zerocut.guard_audit_log_partitions() RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_guard_audit_log_partitions';
COMMENT ON FUNCTION zerocut.guard_audit_log_partitions() IS
    'Gives every partition of audit_log.system_log that lacks it a BEFORE TRUNCATE trigger running audit_log_guard() (internal, not dumped); returns how many it added; install_domain_schema() runs it';
REVOKE ALL ON FUNCTION zerocut.guard_audit_log_partitions() FROM PUBLIC;
CREATE FUNCTION zerocut.audit_log_partition_guard() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_audit_log_partition_guard';
COMMENT ON FUNCTION zerocut.audit_log_partition_guard() IS
    'ddl_command_end event trigger function: after CREATE TABLE ... PARTITION OF or ALTER TABLE ... ATTACH PARTITION within audit_log.system_log, guards the new partitions against TRUNCATE';
REVOKE ALL ON FUNCTION zerocut.audit_log_partition_guard() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_audit_log_partitions ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION zerocut.audit_log_partition_guard();
COMMENT ON EVENT TRIGGER zerocut_audit_log_partitions IS
    'Guards every new partition of audit_log.system_log against TRUNCATE (statement triggers are not cloned to partitions)';
SELECT zerocut.guard_audit_log_partitions();
CREATE FUNCTION zerocut.audit_config_follow() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_audit_config_follow';
COMMENT ON FUNCTION zerocut.audit_config_follow() IS
    'ddl_command_end event trigger function: after a table or schema is renamed, moved or dropped, brings zerocut.audit_config''s schema_name/table_name up to date and removes the rows of dropped tables';
REVOKE ALL ON FUNCTION zerocut.audit_config_follow() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_audit_config_follow ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'ALTER SCHEMA', 'DROP TABLE', 'DROP SCHEMA')
    EXECUTE FUNCTION zerocut.audit_config_follow();
COMMENT ON EVENT TRIGGER zerocut_audit_config_follow IS
    'Keeps zerocut.audit_config''s table names current through renames and drops its rows with their tables';

-- The owners of audited and protected tables may execute the trigger
-- functions, as enable_audit() and protect_column() now grant: PostgreSQL
-- checks EXECUTE when it clones a parent's row triggers onto a partition
-- the owner creates.  Not PUBLIC: the functions act only on recorded tables.
DO $$
DECLARE
    grantee record;
BEGIN
    FOR grantee IN
        SELECT DISTINCT c.relowner AS owner, f.fn
        FROM (SELECT a.relation::pg_catalog.oid AS relid, 'zerocut.audit_trigger_function()' AS fn
              FROM zerocut.audit_config a
              UNION ALL
              SELECT p.relation::pg_catalog.oid, 'zerocut.protect_column_trigger()' FROM zerocut.protected_column p) f
        JOIN pg_catalog.pg_class c ON c.oid = f.relid
        JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
        WHERE NOT o.rolsuper
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', grantee.fn,
                                  pg_catalog.pg_get_userbyid(grantee.owner));
    END LOOP;
END
$$;

-- issue 17: app user context
CREATE FUNCTION zerocut.current_app_user_id() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_current_app_user_id';
COMMENT ON FUNCTION zerocut.current_app_user_id() IS
    'The application user of this transaction: app.current_user_id as a positive integer; NULL, never an error, when it is unset, empty (as a pooled connection keeps it after SET LOCAL), not an integer, zero, negative or above 2147483647. Use it in policies as (SELECT zerocut.current_app_user_id()) so it runs once per query';

CREATE FUNCTION zerocut.set_app_user(user_id integer) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'zc_set_app_user';
COMMENT ON FUNCTION zerocut.set_app_user(integer) IS
    'Sets app.current_user_id for the current transaction only (as SET LOCAL: gone at COMMIT or ROLLBACK, so pool-safe); NULL clears it for the transaction; a zero or negative user_id is an error (22023). Outside a transaction block it lasts as long as that implicit transaction: a lone statement, or an extended-protocol pipeline up to its Sync; a WARNING (25P01) when it commits with no statement after this call';
-- issue 17: tenant isolation (install/61_isolation.sql)
-- The tables whose rows belong to a workspace, with the key a policy filters
-- them by.  Found by name and shape, never by OID, so it follows renamed
-- schemas of nobody and tables created after the install:
--   'user'         user_management."USER": a user sees themself and the
--                  members of the workspaces they share
--   'workspace'    workspace_domain.workspace: its id is the tenant key
--   'workspace_id' every other table in the domain schemas (and archive)
--                  with an integer workspace_id column, and the archive
--                  tables zerocut.archive_policy fills from such a table
--   'log'          audit_log.system_log: audit rows of tenant tables carry
--                  their workspace in the row image
-- Partitions are not listed: what applies to a partitioned table is applied
-- to its whole tree.  SECURITY DEFINER: any role may ask (the names come
-- from catalogs it can read anyway), and the archive tables' names from
-- zerocut.archive_policy, which it cannot.
CREATE FUNCTION zerocut.tenant_tables()
    RETURNS TABLE(relation regclass, tenant_key text)
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH workspace_scoped AS (
        SELECT c.oid
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped
                               AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname IN ('user_management', 'workspace_domain', 'financial_management', 'api_management',
                            'data_statistics', 'archive')
    ), archived AS (
        SELECT to_regclass(format('%I.%I', p.target_schema, p.target_table)) AS oid
        FROM zerocut.archive_policy p
        WHERE to_regclass(format('%I.%I', p.source_schema, p.source_table)) IN (SELECT oid FROM workspace_scoped)
    )
    SELECT c.oid::regclass,
           CASE
               WHEN c.oid = to_regclass('user_management."USER"') THEN 'user'
               WHEN c.oid = to_regclass('workspace_domain.workspace') THEN 'workspace'
               WHEN c.oid = to_regclass('audit_log.system_log') THEN 'log'
               ELSE 'workspace_id'
           END
    FROM pg_class c
    WHERE c.oid IN (SELECT oid FROM workspace_scoped
                    UNION SELECT oid FROM archived
                    UNION SELECT to_regclass(t) FROM unnest(ARRAY['user_management."USER"',
                                                                  'workspace_domain.workspace',
                                                                  'audit_log.system_log']) AS t)
      AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY c.oid::regclass::text
$$;
COMMENT ON FUNCTION zerocut.tenant_tables() IS
    'The tables holding tenant rows, with the key their isolation policies filter by (user, workspace, workspace_id or log): "USER", workspace, every domain or archive table with a workspace_id column, the archive tables of such tables, the audit log; partitions are covered through their parent';

-- The workspace an audit row of a tenant table belongs to: the row image's
-- workspace_id (after the change, else before it), or the key of a
-- workspace row; NULL for everything else (system events, "USER" rows, an
-- UPDATE whose changed_only image left workspace_id out).  Never an error: a
-- policy calls it on every row it reads, and a value that is not a plain
-- int4 is NULL.
CREATE FUNCTION zerocut.log_row_workspace(metadata jsonb) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT CASE WHEN workspace ~ '^[0-9]{1,10}$'
                        THEN CASE WHEN workspace::bigint <= 2147483647 THEN workspace::integer END END
            FROM (SELECT CASE WHEN metadata ->> 'schema' = 'workspace_domain' AND metadata ->> 'table' = 'workspace'
                                  THEN metadata #>> '{pk,id}'
                              ELSE coalesce(metadata #>> '{new_data,workspace_id}',
                                            metadata #>> '{old_data,workspace_id}')
                         END AS workspace) AS image);
COMMENT ON FUNCTION zerocut.log_row_workspace(jsonb) IS
    'The workspace of an audit row of a tenant table (row image workspace_id, or a workspace row''s id), NULL for other rows; never an error; used by the isolation policy on audit_log.system_log';

-- The workspaces the current app user (zerocut.current_app_user_id()) is an
-- active member of, active workspaces only; empty without a user.  In C++
-- (src/security/current_workspace_ids.cpp): it reads user_workspace and
-- workspace by index scans, past their privileges and policies (which call
-- it), and keeps its answers per user while snapshots see the same rows,
-- so the initplans of a transaction, and of the read-only transactions
-- after it, read the memberships once.  STABLE:
-- a policy writes it as an initplan, `(SELECT ...)`, run once per statement.
-- PARALLEL RESTRICTED: the leader runs the initplan and hands its value to
-- the workers (a parallel plan stays possible), so the tables are locked by
-- the leader to the transaction's end and read once, not once per worker.
CREATE FUNCTION zerocut.current_workspace_ids() RETURNS integer[]
    LANGUAGE C STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_current_workspace_ids';
COMMENT ON FUNCTION zerocut.current_workspace_ids() IS
    'The workspaces the current app user (app.current_user_id) is an active member of, active workspaces only; empty without a user; read by index scans past the tables'' privileges and policies, answers kept per user while snapshots see the same rows; executable by the roles isolation is enabled for';
REVOKE ALL ON FUNCTION zerocut.current_workspace_ids() FROM PUBLIC;

-- The users the current app user may see: themself and the active members
-- of their workspaces.  The "USER" policy's list, for the same reasons
-- (PARALLEL RESTRICTED too).
CREATE FUNCTION zerocut.visible_user_ids() RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    app_user integer := zerocut.current_app_user_id();
BEGIN
    IF app_user IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN ARRAY(SELECT app_user
                 UNION
                 SELECT m.user_id
                 FROM workspace_domain.user_workspace m
                 WHERE m.workspace_id = ANY (zerocut.current_workspace_ids()) AND m.status = 'active'
                 ORDER BY 1);
END
$$;
COMMENT ON FUNCTION zerocut.visible_user_ids() IS
    'The current app user and the active members of the workspaces they are an active member of; SECURITY DEFINER, executable by the roles isolation is enabled for';
REVOKE ALL ON FUNCTION zerocut.visible_user_ids() FROM PUBLIC;

-- The application and read-only roles (seed: application_user,
-- readonly_user).  Runs with the caller's rights, normally a superuser's:
-- it creates roles (CREATEROLE) and grants on every table of the domain
-- schemas, the audit log's partitions (the log owner's) included, which a
-- non-superuser can only do if it owns them all.
CREATE FUNCTION zerocut.setup_roles() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    domain_schemas CONSTANT text[] := ARRAY['user_management', 'workspace_domain', 'financial_management',
                                            'api_management', 'data_statistics', 'audit_log', 'archive'];
    new_role text;
    schema_name text;
    tenant record;
BEGIN
    IF EXISTS (SELECT FROM unnest(domain_schemas) AS s WHERE to_regnamespace(quote_ident(s)) IS NULL)
       OR to_regclass('workspace_domain.v_user_workspace_optimized') IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = 'zerocut.setup_roles() needs the domain schema',
            HINT = 'Run SELECT zerocut.install_domain_schema(); first.';
    END IF;
    -- An existing role of that name is used only if it cannot bypass the
    -- policies it is meant for.
    FOREACH new_role IN ARRAY ARRAY['application_user', 'readonly_user'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = new_role AND (rolsuper OR rolbypassrls)) THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = format('role %I exists with SUPERUSER or BYPASSRLS', new_role),
                DETAIL = 'Row-level security would not apply to its members.',
                HINT = format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS, then run zerocut.setup_roles() again.', new_role);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = new_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                           new_role);
        END IF;
    END LOOP;

    FOREACH schema_name IN ARRAY domain_schemas LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO application_user, readonly_user', schema_name);
        -- readonly_user: everything there, now and later (tables, views and
        -- materialized views the schema's owner creates).
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO readonly_user', schema_name);
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT ON TABLES TO readonly_user',
                       (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = schema_name), schema_name);
    END LOOP;

    -- application_user: read and write the tenant tables (row-level
    -- security decides which rows), read the archive and the audit log,
    -- nothing else.  No default privileges: a table made later is closed to
    -- it until someone grants it (and enable_workspace_isolation() covers it).
    FOR tenant IN SELECT t.relation, t.tenant_key, n.nspname
                  FROM zerocut.tenant_tables() t
                  JOIN pg_class c ON c.oid = t.relation
                  JOIN pg_namespace n ON n.oid = c.relnamespace LOOP
        IF tenant.tenant_key = 'log' OR tenant.nspname = 'archive'
           OR EXISTS (SELECT FROM zerocut.archive_policy p
                      WHERE to_regclass(format('%I.%I', p.target_schema, p.target_table)) = tenant.relation) THEN
            EXECUTE format('GRANT SELECT ON %s TO application_user', tenant.relation);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO application_user', tenant.relation);
        END IF;
    END LOOP;
    -- The sequences behind the tenant tables' serial keys.
    FOR tenant IN SELECT DISTINCT d.objid::regclass AS sequence
                  FROM zerocut.tenant_tables() t
                  JOIN pg_depend d ON d.refobjid = t.relation AND d.classid = 'pg_class'::regclass
                                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                  WHERE t.tenant_key IN ('user', 'workspace', 'workspace_id') LOOP
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO application_user', tenant.sequence);
    END LOOP;
    -- A view reads its tables with its owner's rights unless it is
    -- security_invoker; only such a view is opened to application_user.
    GRANT SELECT ON workspace_domain.v_user_workspace_optimized TO application_user;
    -- zerocut's functions: the policies' lists, the user context, the
    -- dashboard (each function's own grants still decide).
    GRANT USAGE ON SCHEMA zerocut TO application_user, readonly_user;
    GRANT EXECUTE ON FUNCTION zerocut.current_workspace_ids(), zerocut.visible_user_ids() TO application_user;
    -- Isolation enabled before readonly_user existed gave it no policy.
    IF has_table_privilege('zerocut.workspace_isolation', 'SELECT')
       AND EXISTS (SELECT FROM zerocut.workspace_isolation w
               WHERE NOT EXISTS (SELECT FROM pg_policy p
                                 WHERE p.polrelid = w.relation AND p.polname = 'zerocut_readonly')) THEN
        RAISE NOTICE 'workspace isolation was enabled before readonly_user existed: it sees no rows until SELECT zerocut.enable_workspace_isolation(); runs again';
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.setup_roles() IS
    'Creates, idempotently, NOLOGIN roles application_user (read/write on the tenant tables under row-level security, SELECT on archive and audit log, no DDL) and readonly_user (SELECT on every domain schema, also on tables made later); runs with the caller''s rights (CREATEROLE, owner of the domain tables)';
REVOKE ALL ON FUNCTION zerocut.setup_roles() FROM PUBLIC;

-- What enable_workspace_isolation() changed, so that
-- disable_workspace_isolation() undoes exactly that: one row per table or
-- partition it touched, with its row-security flags from before and the
-- index it created, if any.  Kept by pg_dump (regclass dumps by name).
CREATE TABLE zerocut.workspace_isolation (
    relation               regclass PRIMARY KEY,
    policy_role            name NOT NULL,
    had_row_security       boolean NOT NULL,
    had_force_row_security boolean NOT NULL,
    created_index          name,
    enabled_at             timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE zerocut.workspace_isolation IS
    'One row per table or partition zerocut.enable_workspace_isolation() put under row-level security: the role its policies are for, the row-security flags it had before, the index created for the policy; read by disable_workspace_isolation()';
REVOKE ALL ON TABLE zerocut.workspace_isolation FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.workspace_isolation', '');

-- A dropped table or partition leaves the registry: a later table could get
-- its OID, and disable_workspace_isolation() would then change that table.
CREATE FUNCTION zerocut.workspace_isolation_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM zerocut.workspace_isolation w
    USING pg_catalog.pg_event_trigger_dropped_objects() d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0 AND w.relation = d.objid;
END
$$;
COMMENT ON FUNCTION zerocut.workspace_isolation_forget_dropped() IS
    'sql_drop event trigger function: deletes the zerocut.workspace_isolation rows of dropped tables and partitions';
REVOKE ALL ON FUNCTION zerocut.workspace_isolation_forget_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_workspace_isolation_forget_dropped ON sql_drop
    EXECUTE FUNCTION zerocut.workspace_isolation_forget_dropped();
COMMENT ON EVENT TRIGGER zerocut_workspace_isolation_forget_dropped IS
    'Deletes the zerocut.workspace_isolation row of a dropped table or partition (DROP TABLE, DROP SCHEMA ... CASCADE, DROP OWNED)';

CREATE FUNCTION zerocut.enable_workspace_isolation(role name DEFAULT 'application_user') RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tenant record;
    part regclass;
    index_name name;
    expression text;
    policy_name name;
    is_archive boolean;
    has_readonly boolean := EXISTS (SELECT FROM pg_roles WHERE rolname = 'readonly_user');
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'argument "role" must not be NULL';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = role) THEN
        RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role %I (argument "role") does not exist', role),
            HINT = 'Run SELECT zerocut.setup_roles(); to create application_user.';
    END IF;
    IF EXISTS (SELECT FROM pg_roles r WHERE r.rolname = role AND (r.rolsuper OR r.rolbypassrls)) THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('role %I (argument "role") has SUPERUSER or BYPASSRLS: row-level security would not apply to it', role);
    END IF;
    -- It writes zerocut.workspace_isolation and FORCEs row security on
    -- tables of possibly several owners: a DBA's job.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'zerocut.enable_workspace_isolation() must be run by a superuser';
    END IF;
    IF NOT EXISTS (SELECT FROM zerocut.tenant_tables()) THEN
        RAISE EXCEPTION USING ERRCODE = '55000', MESSAGE = 'there are no tenant tables to isolate',
            HINT = 'Run SELECT zerocut.install_domain_schema(); first.';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA zerocut TO %I', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION zerocut.current_workspace_ids(), zerocut.visible_user_ids() TO %I', role);

    FOR tenant IN SELECT t.relation, t.tenant_key FROM zerocut.tenant_tables() t LOOP
        -- The rows of the app user's workspaces.  Each list comes from a
        -- SECURITY DEFINER function above, written as an initplan:
        -- `(SELECT ...)` runs once per statement, not once per row.
        expression := CASE tenant.tenant_key
            WHEN 'workspace' THEN 'id = ANY ((SELECT zerocut.current_workspace_ids())::integer[])'
            WHEN 'workspace_id' THEN 'workspace_id = ANY ((SELECT zerocut.current_workspace_ids())::integer[])'
            WHEN 'user' THEN 'id = (SELECT zerocut.current_app_user_id())'
            WHEN 'log' THEN 'zerocut.log_row_workspace(metadata) = ANY ((SELECT zerocut.current_workspace_ids())::integer[])'
        END;
        is_archive := tenant.relation IN (SELECT to_regclass(format('%I.%I', p.target_schema, p.target_table))
                                          FROM zerocut.archive_policy p)
                      OR (SELECT relnamespace FROM pg_class WHERE oid = tenant.relation) = to_regnamespace('archive');
        -- The index the policy needs: one led by workspace_id, no predicate.
        index_name := NULL;
        IF tenant.tenant_key = 'workspace_id'
           AND NOT EXISTS (SELECT FROM pg_index i
                           WHERE i.indrelid = tenant.relation AND i.indpred IS NULL
                             AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                                                WHERE attrelid = tenant.relation AND attname = 'workspace_id')) THEN
            index_name := left((SELECT relname FROM pg_class WHERE oid = tenant.relation), 40) || '_zerocut_workspace_idx';
            EXECUTE format('CREATE INDEX %I ON %s (workspace_id)', index_name, tenant.relation);
        END IF;
        -- The whole partition tree: a partition read directly (its
        -- grants are copied from the parent) is filtered the same way.
        FOR part IN SELECT tenant.relation
                    UNION
                    SELECT p.relid FROM pg_partition_tree(tenant.relation) p
                    JOIN pg_class c ON c.oid = p.relid AND c.relkind IN ('r', 'p') LOOP
            INSERT INTO zerocut.workspace_isolation AS w (relation, policy_role, had_row_security,
                                                          had_force_row_security, created_index)
            -- A partition or archive table made since an earlier enable
            -- copied our flags and policies: its own state was "off".
            SELECT part, role,
                   c.relrowsecurity AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = part
                                                    AND p.polname = 'zerocut_isolation'),
                   c.relforcerowsecurity AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = part
                                                         AND p.polname = 'zerocut_isolation'),
                   CASE WHEN part = tenant.relation THEN index_name END
            FROM pg_class c WHERE c.oid = part
            ON CONFLICT (relation) DO UPDATE
                SET policy_role = excluded.policy_role,
                    created_index = coalesce(w.created_index, excluded.created_index);
            EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', part);
            -- Again from scratch: the role or the expressions may differ.
            FOR policy_name IN SELECT polname FROM pg_policy
                               WHERE polrelid = part AND polname IN ('zerocut_isolation', 'zerocut_isolation_members',
                                                                     'zerocut_readonly') LOOP
                EXECUTE format('DROP POLICY %I ON %s', policy_name, part);
            END LOOP;
            IF tenant.tenant_key = 'log' OR is_archive THEN
                -- Audit rows are written by zerocut as the log's owner, and
                -- archive rows by the archive job as the owner: the role
                -- only reads its workspaces' rows, whatever grants an
                -- archive table copied from its source.
                EXECUTE format('CREATE POLICY zerocut_isolation ON %s FOR SELECT TO %I USING (%s)',
                               part, role, expression);
            ELSIF tenant.tenant_key = 'user' THEN
                -- A user changes only their own row; signing up and deleting
                -- users (whose foreign keys cascade into workspaces as the
                -- owner) are provisioning steps, not the app role's.
                EXECUTE format('CREATE POLICY zerocut_isolation ON %s FOR UPDATE TO %I USING (%s) WITH CHECK (%s)',
                               part, role, expression, expression);
            ELSE
                EXECUTE format('CREATE POLICY zerocut_isolation ON %s FOR ALL TO %I USING (%s) WITH CHECK (%s)',
                               part, role, expression, expression);
            END IF;
            IF tenant.tenant_key = 'user' THEN
                -- Members of a shared workspace see each other.
                EXECUTE format('CREATE POLICY zerocut_isolation_members ON %s FOR SELECT TO %I '
                               'USING (id = ANY ((SELECT zerocut.visible_user_ids())::integer[]))', part, role);
            END IF;
            IF has_readonly THEN
                EXECUTE format('CREATE POLICY zerocut_readonly ON %s FOR SELECT TO readonly_user USING (true)', part);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION zerocut.enable_workspace_isolation(name) IS
    'ENABLE and FORCE row-level security on every tenant table and partition, with policies letting `role` read and write only the rows of its app user''s workspaces (initplan form), readonly_user read all; creates the workspace_id indexes the policies need; idempotent; superuser only';
REVOKE ALL ON FUNCTION zerocut.enable_workspace_isolation(name) FROM PUBLIC;

CREATE FUNCTION zerocut.disable_workspace_isolation() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    touched record;
    policy_name name;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'zerocut.disable_workspace_isolation() must be run by a superuser';
    END IF;
    -- Every table carrying zerocut's policies: those recorded, and
    -- partitions and archive tables made since (they copied the policies).
    FOR touched IN
        SELECT c.oid::regclass AS relation, w.had_row_security, w.had_force_row_security, w.created_index,
               w.relation IS NOT NULL AS recorded
        FROM pg_class c
        LEFT JOIN zerocut.workspace_isolation w ON w.relation = c.oid
        WHERE w.relation IS NOT NULL
           OR c.oid IN (SELECT polrelid FROM pg_policy
                        WHERE polname IN ('zerocut_isolation', 'zerocut_isolation_members', 'zerocut_readonly'))
    LOOP
        FOR policy_name IN SELECT polname FROM pg_policy
                           WHERE polrelid = touched.relation
                             AND polname IN ('zerocut_isolation', 'zerocut_isolation_members', 'zerocut_readonly') LOOP
            EXECUTE format('DROP POLICY %I ON %s', policy_name, touched.relation);
        END LOOP;
        IF touched.recorded THEN
            EXECUTE format('ALTER TABLE %s %s ROW LEVEL SECURITY, %s FORCE ROW LEVEL SECURITY', touched.relation,
                           CASE WHEN touched.had_row_security THEN 'ENABLE' ELSE 'DISABLE' END,
                           CASE WHEN touched.had_force_row_security THEN '' ELSE 'NO' END);
        ELSIF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = touched.relation) THEN
            -- Made after enable: its flags came with the policies.
            EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY', touched.relation);
        END IF;
        IF touched.created_index IS NOT NULL THEN
            EXECUTE format('DROP INDEX IF EXISTS %I.%I',
                           (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE c.oid = touched.relation), touched.created_index);
        END IF;
    END LOOP;
    DELETE FROM zerocut.workspace_isolation;
END
$$;
COMMENT ON FUNCTION zerocut.disable_workspace_isolation() IS
    'Undoes zerocut.enable_workspace_isolation(): drops its policies (also those partitions and archive tables made since copied), restores each table''s row-security flags and drops the indexes it created; superuser only';
REVOKE ALL ON FUNCTION zerocut.disable_workspace_isolation() FROM PUBLIC;

-- issue 17: check_security (install/65_check_security.sql)
-- One row per finding, ordered by severity (high, medium, low), then object.
-- Each check is one UNION ALL branch of the final SELECT, commented with its
-- number; checks 4, 7 and 8-11 need the role application_user and return
-- nothing without it.  SECURITY INVOKER: it reads only catalogs and
-- zerocut.tenant_tables(), as its caller.
CREATE FUNCTION zerocut.check_security()
    RETURNS TABLE(severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    -- The planner's estimates for the recursive role walks are huge, so JIT
    -- would compile the query for ~0.4 s of an ~0.1 s run.
    SET jit = off
    AS $$
    WITH RECURSIVE
    -- The schemas the domain installer makes, and zerocut's own.
    managed_schema AS (
        SELECT n.oid, n.nspname
        FROM pg_namespace n
        WHERE n.nspname IN ('user_management', 'workspace_domain', 'financial_management', 'api_management',
                            'data_statistics', 'audit_log', 'archive', 'zerocut')
    ),
    -- Every tenant table and every partition of one (any level), with the
    -- kind of key its policies filter by.
    tenant_relation AS (
        SELECT t.relation AS root, t.tenant_key, tree.relid, c.relkind, c.relrowsecurity, c.relforcerowsecurity
        FROM zerocut.tenant_tables() t
        -- pg_partition_tree() of a table that is not partitioned is empty
        CROSS JOIN LATERAL (SELECT t.relation AS relid
                            UNION SELECT pt.relid FROM pg_partition_tree(t.relation) pt) tree
        JOIN pg_class c ON c.oid = tree.relid
        WHERE c.relkind IN ('r', 'p')
    ),
    -- Workspace-scoped tables (tenant key 'workspace_id') and their
    -- partitions, with the attribute number of workspace_id in each (a
    -- partition's may differ from its parent's).
    workspace_scoped AS (
        SELECT r.root, r.relid, a.attnum AS workspace_attnum
        FROM tenant_relation r
        JOIN pg_attribute a ON a.attrelid = r.relid AND a.attname = 'workspace_id' AND NOT a.attisdropped
        WHERE r.tenant_key = 'workspace_id'
    ),
    app_role AS (
        SELECT r.oid, r.rolname, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = 'application_user'
    ),
    -- Every role that is a member of application_user, directly or through
    -- other roles, with the role it was granted on the way ("via").  Not
    -- pg_has_role(): it says a superuser is a member of every role.
    app_member(member, via) AS (
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN app_role a ON m.roleid = a.oid
        UNION
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN app_member am ON m.roleid = am.member
    ),
    -- Every role that is a member of readonly_user, the same way.
    readonly_member(member, via) AS (
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN pg_roles r ON m.roleid = r.oid
        WHERE r.rolname = 'readonly_user'
        UNION
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN readonly_member rm ON m.roleid = rm.member
    ),
    -- The roles the application's sessions may act as: application_user and
    -- its members (superusers are check 4's).
    app_subject AS (
        SELECT a.oid FROM app_role a WHERE NOT a.rolsuper
        UNION
        SELECT m.member FROM app_member m JOIN pg_roles r ON r.oid = m.member WHERE NOT r.rolsuper
    ),
    -- The owners of tenant tables and partitions, and every role that is a
    -- member of one (it can SET ROLE to the owner), with the role it was
    -- granted on the way.
    tenant_owner AS (
        SELECT DISTINCT c.relowner AS owner FROM tenant_relation r JOIN pg_class c ON c.oid = r.relid
    ),
    owner_member(owner, member, via) AS (
        SELECT o.owner, m.member, m.roleid FROM pg_auth_members m JOIN tenant_owner o ON m.roleid = o.owner
        UNION
        SELECT om.owner, m.member, m.roleid FROM pg_auth_members m JOIN owner_member om ON m.roleid = om.member
    ),
    -- Check 3's exceptions: zerocut functions PUBLIC may execute although
    -- they are VOLATILE or use keys, each with the reason (the same reasons
    -- as sql/zz_catalog.sql's list of what PUBLIC may execute).
    public_exception(signature, why) AS (
        VALUES ('zerocut.refresh_analytics_views()', 'refreshes only the views the caller owns (checked in the function)'),
               ('zerocut.set_app_user(integer)', 'only sets app.current_user_id, which the caller could SET itself'),
               ('zerocut.encrypt_sensitive_data(text,text)', 'seed-compatible pgcrypto wrapper: the caller supplies the key, no zerocut key is read'),
               ('zerocut.decrypt_sensitive_data(bytea,text)', 'seed-compatible pgcrypto wrapper: the caller supplies the key, no zerocut key is read')
    ),
    -- Check 2: a SECURITY DEFINER function's search_path entries (names
    -- unquoted, unquoted ones folded to lower case as PostgreSQL does).
    definer AS (
        SELECT p.oid, p.prokind,
               (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c
                WHERE c LIKE 'search\_path=%' LIMIT 1) AS path
        FROM pg_proc p
        JOIN managed_schema s ON s.oid = p.pronamespace
        WHERE p.prosecdef
    ),
    definer_path AS (
        SELECT d.oid, e.ord,
               CASE WHEN e.name LIKE '"%"' THEN replace(substr(e.name, 2, length(e.name) - 2), '""', '"')
                    ELSE lower(e.name) END AS schema
        FROM definer d
        CROSS JOIN LATERAL (SELECT btrim(x) AS name, ord FROM regexp_split_to_table(d.path, ',') WITH ORDINALITY AS s(x, ord)
                            WHERE btrim(x) <> '') e
    ),
    definer_problem AS (
        SELECT d.oid, d.prokind,
               CASE WHEN d.path IS NULL THEN 'no search_path is set'
                    ELSE concat_ws('; ',
                        (SELECT 'search_path names ' || string_agg(quote_ident(dp.schema), ', ' ORDER BY dp.ord)
                                || ', where other roles can create objects'
                         FROM definer_path dp
                         WHERE dp.oid = d.oid
                           AND (dp.schema IN ('public', '$user')
                                OR has_schema_privilege('public', (SELECT n.oid FROM pg_namespace n
                                                                   WHERE n.nspname = dp.schema), 'CREATE')
                                OR (to_regnamespace(quote_ident(dp.schema)) IS NULL AND dp.schema NOT IN ('pg_temp', 'pg_catalog')
                                    AND has_database_privilege('public', current_database(), 'CREATE')))),
                        (SELECT 'search_path does not end with pg_temp (the caller''s temporary tables would come first)'
                         WHERE coalesce((SELECT dp.schema FROM definer_path dp WHERE dp.oid = d.oid
                                         ORDER BY dp.ord DESC LIMIT 1), '') <> 'pg_temp'))
               END AS problem
        FROM definer d
    ),
    -- Check 3: the functions that read keys, whatever their volatility.
    key_function(name) AS (
        VALUES ('encrypt'), ('decrypt'), ('decrypt_bytea'), ('reencrypt'), ('blind_index'), ('create_key'),
               ('rotate_key'), ('grant_key'), ('revoke_key'), ('encrypt_sensitive_data'), ('decrypt_sensitive_data'),
               ('protect_column'), ('protect_column_trigger'), ('encrypt_column_batch'), ('encrypt_column_backfill')
    ),
    finding(severity, object, problem, fix) AS (
        -- Check 1 (high): a tenant table or a partition of one without
        -- row-level security, or with it but not FORCEd (its owner, who the
        -- application may log in as, would bypass every policy).
        SELECT 'high', r.relid::regclass::text,
               CASE WHEN r.relid = r.root THEN 'tenant table' ELSE format('partition of tenant table %s', r.root) END
               || CASE WHEN NOT r.relrowsecurity THEN ': row-level security is not enabled'
                       ELSE ': row-level security is enabled but not forced, so its owner bypasses it' END,
               'SELECT zerocut.enable_workspace_isolation();'
        FROM tenant_relation r
        WHERE NOT (r.relrowsecurity AND r.relforcerowsecurity)

        UNION ALL
        -- Check 2 (high): a SECURITY DEFINER function in a domain schema or
        -- zerocut whose search_path is not pinned to schemas only trusted
        -- roles can create objects in, ending with pg_temp.
        SELECT 'high', d.oid::regprocedure::text,
               'SECURITY DEFINER without a pinned search_path: ' || d.problem,
               format('ALTER %s %s SET search_path = pg_catalog, pg_temp;  -- then qualify every name in its body',
                      CASE d.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, d.oid::regprocedure)
        FROM definer_problem d
        WHERE d.problem <> ''

        UNION ALL
        -- Check 3 (high): a zerocut function PUBLIC may execute (no ACL yet,
        -- or an entry for grantee 0) that is VOLATILE (can change data;
        -- trigger and event-trigger functions cannot be called) or that uses
        -- keys, unless public_exception lists it.
        SELECT 'high', p.oid::regprocedure::text,
               CASE WHEN p.proname IN (SELECT name FROM key_function)
                    THEN 'PUBLIC may execute it and it uses zerocut''s encryption keys'
                    ELSE 'PUBLIC may execute it and it is VOLATILE (it can change data)' END,
               format('REVOKE EXECUTE ON %s %s FROM PUBLIC;',
                      CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, p.oid::regprocedure)
        FROM pg_proc p
        WHERE p.pronamespace = (SELECT oid FROM managed_schema WHERE nspname = 'zerocut')
          AND p.prokind IN ('f', 'p')
          AND (p.proacl IS NULL
               OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
          AND (p.proname IN (SELECT name FROM key_function)
               OR (p.provolatile = 'v' AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)))
          AND p.oid::regprocedure::text NOT IN (SELECT signature FROM public_exception)

        UNION ALL
        -- Check 4a (high): application_user itself with SUPERUSER or
        -- BYPASSRLS (LOGIN is fine: policies apply to it).
        SELECT 'high', quote_ident(a.rolname),
               format('the application role has %s: every application session bypasses row-level security',
                      concat_ws(' and ', CASE WHEN a.rolsuper THEN 'SUPERUSER' END,
                                         CASE WHEN a.rolbypassrls THEN 'BYPASSRLS' END)),
               format('ALTER ROLE %I%s%s;', a.rolname, CASE WHEN a.rolsuper THEN ' NOSUPERUSER' END,
                      CASE WHEN a.rolbypassrls THEN ' NOBYPASSRLS' END)
        FROM app_role a
        WHERE a.rolsuper OR a.rolbypassrls

        UNION ALL
        -- Check 4b (high): a LOGIN role with SUPERUSER or BYPASSRLS that is
        -- a member of application_user, directly or not: the application
        -- logging in as it bypasses row-level security.
        SELECT 'high', quote_ident(r.rolname),
               format('LOGIN role with %s is a member of %s: sessions of it bypass row-level security',
                      CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'BYPASSRLS' END, a.rolname),
               CASE WHEN r.rolsuper
                    THEN format('REVOKE %s FROM %I;  -- the application logs in as a role without SUPERUSER',
                                (SELECT string_agg(quote_ident(v.rolname), ', ' ORDER BY v.rolname)
                                 FROM app_member m JOIN pg_roles v ON v.oid = m.via WHERE m.member = r.oid),
                                r.rolname)
                    ELSE format('ALTER ROLE %I NOBYPASSRLS;', r.rolname) END
        FROM app_role a
        JOIN pg_roles r ON r.oid IN (SELECT member FROM app_member)
        WHERE r.rolcanlogin AND (r.rolsuper OR r.rolbypassrls)

        UNION ALL
        -- Check 5a (medium): a unique constraint or unique index, other than
        -- the primary key, on a workspace-scoped table or a partition of one,
        -- whose key does not include workspace_id: inserting a value another
        -- workspace holds fails, so a tenant can probe the others' values.
        -- Exempt: a key with a column whose name ends in _hash (a hash of a
        -- secret cannot be guessed without the secret; api_key.key_hash).
        -- Indexes attached to a parent's index are checked on the parent.
        SELECT 'medium',
               CASE WHEN con.oid IS NULL THEN i.indexrelid::regclass::text
                    ELSE format('constraint %I on %s', con.conname, w.relid::regclass) END,
               format('unique %s on %s (%s) does not include workspace_id: one workspace can probe another''s values through unique violations',
                      CASE WHEN con.oid IS NULL THEN 'index' ELSE 'constraint' END, w.relid::regclass,
                      (SELECT string_agg(pg_get_indexdef(i.indexrelid, k.n::integer, true), ', ' ORDER BY k.n)
                       FROM generate_series(1, i.indnkeyatts) AS k(n))),
               CASE WHEN con.oid IS NULL
                    THEN format('DROP INDEX %s; %s;', i.indexrelid::regclass,
                                regexp_replace(pg_get_indexdef(i.indexrelid), ' USING (\w+) \(', ' USING \1 (workspace_id, '))
                    ELSE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;', w.relid::regclass, con.conname,
                                con.conname, regexp_replace(pg_get_constraintdef(con.oid), '\(', '(workspace_id, ')) END
        FROM workspace_scoped w
        JOIN pg_index i ON i.indrelid = w.relid AND i.indisunique AND NOT i.indisprimary
        JOIN pg_class ic ON ic.oid = i.indexrelid AND NOT ic.relispartition
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = w.relid AND con.contype = 'u'
        WHERE NOT (w.workspace_attnum = ANY (i.indkey[0:i.indnkeyatts - 1]))
          AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = w.relid AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1])
                            AND a.attname LIKE '%\_hash')

        UNION ALL
        -- Check 5b (medium): a foreign key from one workspace-scoped table to
        -- another that does not pair workspace_id with workspace_id: a tenant
        -- could point a row at another workspace's row, or probe whether it
        -- exists.  (Keys to workspace or "USER" are not workspace-scoped.)
        SELECT 'medium', format('constraint %I on %s', con.conname, con.conrelid::regclass),
               format('foreign key from %s to %s does not match workspace_id to workspace_id: a row can reference another workspace''s row',
                      con.conrelid::regclass, con.confrelid::regclass),
               concat(
                   -- the referenced table needs a unique key with workspace_id first
                   (SELECT format('ALTER TABLE %s ADD UNIQUE (workspace_id, %s); ', con.confrelid::regclass,
                                  string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord))
                    FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                    HAVING NOT EXISTS (
                        SELECT 1 FROM pg_index ri
                        WHERE ri.indrelid = con.confrelid AND ri.indisunique AND ri.indpred IS NULL
                          AND ri.indnkeyatts = cardinality(con.confkey) + 1
                          AND (ri.indkey[0:ri.indnkeyatts - 1])::int2[] @> (con.confkey || wr.workspace_attnum)
                    )),
                   format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;', con.conrelid::regclass, con.conname,
                          con.conname,
                          -- workspace_id first on both sides; ON DELETE SET NULL/DEFAULT
                          -- limited to the old columns (workspace_id stays)
                          regexp_replace(
                              replace(regexp_replace(pg_get_constraintdef(con.oid), '^FOREIGN KEY \(', 'FOREIGN KEY (workspace_id, '),
                                      format('REFERENCES %s(', con.confrelid::regclass),
                                      format('REFERENCES %s(workspace_id, ', con.confrelid::regclass)),
                              'ON DELETE SET (NULL|DEFAULT)(?! \()',
                              format('ON DELETE SET \1 (%s)',
                                     (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                                      FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)))))
        FROM pg_constraint con
        JOIN workspace_scoped w ON w.relid = con.conrelid
        JOIN workspace_scoped wr ON wr.relid = con.confrelid
        WHERE con.contype = 'f' AND con.conparentid = 0
          AND NOT EXISTS (SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(attnum, refattnum)
                          WHERE k.attnum = w.workspace_attnum AND k.refattnum = wr.workspace_attnum)

        UNION ALL
        -- Check 6 (medium): app.current_user_id set for this database, for a
        -- role, or for a role in this database: every such session starts as
        -- that application user.
        SELECT 'medium',
               CASE WHEN s.setrole = 0 THEN format('database %I', db.datname)
                    WHEN s.setdatabase = 0 THEN quote_ident(r.rolname)
                    ELSE format('%s in database %I', quote_ident(r.rolname), db.datname) END,
               format('%s sets %s: every session starts as that application user',
                      CASE WHEN s.setrole = 0 THEN 'the database' ELSE 'the role' END, c.setting),
               CASE WHEN s.setrole = 0 THEN format('ALTER DATABASE %I RESET app.current_user_id;', db.datname)
                    WHEN s.setdatabase = 0 THEN format('ALTER ROLE %I RESET app.current_user_id;', r.rolname)
                    ELSE format('ALTER ROLE %I IN DATABASE %I RESET app.current_user_id;', r.rolname, db.datname) END
        FROM pg_db_role_setting s
        CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
        LEFT JOIN pg_database db ON db.oid = s.setdatabase
        LEFT JOIN pg_roles r ON r.oid = s.setrole
        WHERE c.setting LIKE 'app.current\_user\_id=%'
          AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))

        UNION ALL
        -- Check 7 (high): a view application_user may use that reads its
        -- tables with its owner's rights (not security_invoker), or a
        -- materialized view it may read (those cannot have row-level
        -- security): either shows rows of every workspace.
        SELECT 'high', c.oid::regclass::text,
               CASE c.relkind
                   WHEN 'v' THEN format('%s may use this view, which is not security_invoker: it reads its tables with its owner''s rights, past their policies', a.rolname)
                   ELSE format('%s may read this materialized view, which cannot have row-level security', a.rolname) END,
               CASE WHEN c.relkind = 'v' THEN format('ALTER VIEW %s SET (security_invoker = true);', c.oid::regclass)
                    WHEN has_table_privilege('public', c.oid, 'SELECT')
                    THEN format('REVOKE SELECT ON %s FROM PUBLIC;', c.oid::regclass)
                    ELSE format('REVOKE SELECT ON %s FROM %I;', c.oid::regclass, a.rolname) END
        FROM app_role a
        CROSS JOIN pg_class c
        JOIN managed_schema s ON s.oid = c.relnamespace
        WHERE (c.relkind = 'v'
               AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o
                               WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1',
                                                  'security_invoker=yes'))
               AND (has_table_privilege(a.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                    OR has_any_column_privilege(a.oid, c.oid, 'SELECT, INSERT, UPDATE')))
           OR (c.relkind = 'm' AND has_any_column_privilege(a.oid, c.oid, 'SELECT'))

        UNION ALL
        -- Check 8 (high): a permissive policy other than zerocut's on a
        -- tenant table or partition that applies to the application's
        -- roles: permissive policies are ORed, so every row it lets
        -- through is visible (or writable) whatever the workspace.
        SELECT 'high', format('policy %I on %s', p.polname, p.polrelid::regclass),
               format('permissive policy for %s is ORed with zerocut''s isolation policy: the rows it allows are open to the application in every workspace',
                      CASE WHEN 0 = ANY (p.polroles) THEN 'PUBLIC'
                           ELSE (SELECT string_agg(quote_ident(r.rolname), ', ' ORDER BY r.rolname)
                                 FROM pg_roles r WHERE r.oid = ANY (p.polroles)) END),
               format('DROP POLICY %I ON %s;  -- or create it AS RESTRICTIVE, or for roles the application does not use',
                      p.polname, p.polrelid::regclass)
        FROM pg_policy p
        JOIN tenant_relation r ON r.relid = p.polrelid
        WHERE p.polpermissive AND EXISTS (SELECT 1 FROM app_role)
          AND p.polname NOT IN ('zerocut_isolation', 'zerocut_isolation_members', 'zerocut_readonly')
          AND (0 = ANY (p.polroles)
               OR EXISTS (SELECT 1 FROM app_subject s, unnest(p.polroles) AS pr(role)
                          WHERE pg_has_role(s.oid, pr.role, 'MEMBER')))

        UNION ALL
        -- Check 9 (high): a role of the application that is also a member
        -- of readonly_user: readonly_user's policies (USING (true)) are ORed
        -- with the application's, so its sessions read every workspace.
        SELECT 'high', quote_ident(r.rolname),
               format('member of %s and of readonly_user: readonly_user''s policies let its sessions read every workspace',
                      CASE WHEN r.rolname = 'application_user' THEN 'the application role' ELSE 'application_user' END),
               format('REVOKE %s FROM %I;',
                      (SELECT string_agg(DISTINCT quote_ident(v.rolname), ', ')
                       FROM readonly_member m JOIN pg_roles v ON v.oid = m.via WHERE m.member = r.oid),
                      r.rolname)
        FROM app_subject s
        JOIN pg_roles r ON r.oid = s.oid
        WHERE s.oid IN (SELECT member FROM readonly_member)

        UNION ALL
        -- Check 10 (high): a role of the application that owns a tenant
        -- table or can SET ROLE to its owner: the owner may turn the table's
        -- row-level security off (ALTER TABLE ... NO FORCE / DISABLE).
        SELECT 'high', quote_ident(r.rolname),
               CASE WHEN r.oid = o.owner
                    THEN format('%s owns tenant tables: it can turn their row-level security off',
                                CASE WHEN r.rolname = 'application_user' THEN 'the application role'
                                     ELSE 'a member of application_user' END)
                    ELSE format('member of application_user and of %I, which owns tenant tables: it can SET ROLE %I and turn their row-level security off',
                                (SELECT rolname FROM pg_roles WHERE oid = o.owner),
                                (SELECT rolname FROM pg_roles WHERE oid = o.owner)) END,
               CASE WHEN r.oid <> o.owner
                    THEN format('REVOKE %s FROM %I;',
                                (SELECT string_agg(DISTINCT quote_ident(v.rolname), ', ')
                                 FROM owner_member m JOIN pg_roles v ON v.oid = m.via
                                 WHERE m.owner = o.owner AND m.member = r.oid),
                                r.rolname)
                    WHEN r.rolname = 'application_user'
                    THEN format('REASSIGN OWNED BY %I TO %s;', r.rolname,
                                (SELECT e.extowner::regrole::text FROM pg_extension e WHERE e.extname = 'zerocut'))
                    ELSE format('REVOKE %s FROM %I;',
                                (SELECT string_agg(DISTINCT quote_ident(v.rolname), ', ')
                                 FROM app_member m JOIN pg_roles v ON v.oid = m.via WHERE m.member = r.oid),
                                r.rolname) END
        FROM app_subject s
        JOIN pg_roles r ON r.oid = s.oid
        JOIN tenant_owner o ON o.owner = r.oid
                            OR EXISTS (SELECT 1 FROM owner_member m WHERE m.owner = o.owner AND m.member = r.oid)

        UNION ALL
        -- Check 11 (high, PostgreSQL 15 and older): a role of the
        -- application with CREATEROLE: before 16 it may grant itself any
        -- non-superuser role, the tables' owners included.
        SELECT 'high', quote_ident(r.rolname),
               'has CREATEROLE and acts for the application: before PostgreSQL 16 it can grant itself the tables'' owner and turn row-level security off',
               format('ALTER ROLE %I NOCREATEROLE;', r.rolname)
        FROM app_subject s
        JOIN pg_roles r ON r.oid = s.oid
        WHERE r.rolcreaterole AND current_setting('server_version_num')::integer < 160000
    )
    SELECT f.severity, f.object, f.problem, f.fix
    FROM finding f
    ORDER BY CASE f.severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, f.object COLLATE "C", f.problem COLLATE "C"
$$;
COMMENT ON FUNCTION zerocut.check_security() IS
    'Security linter for tenant isolation: one row per finding (severity, object, problem, fix as SQL), high before medium before low, then by object; empty on a clean install with isolation enabled. For the DBA: EXECUTE is revoked from PUBLIC, so the application''s roles cannot list the weak spots; a superuser runs it, or grants EXECUTE to an auditing role (it reads only catalogs, as its caller). docs/check_security.md';
-- Not PUBLIC's: a ready-made list of what to exploit (see the COMMENT).
REVOKE ALL ON FUNCTION zerocut.check_security() FROM PUBLIC;
-- issue 17: key grants
-- Keys per role.  Before, EXECUTE on encrypt()/decrypt() let a role use
-- every key; now each key must also be granted (zerocut.key_grant).  So that
-- every role keeps what it could do, each non-superuser role (other than the
-- extension's owner, which needs no grant) that has EXECUTE, granted to it
-- directly rather than to PUBLIC, on a function using a key gets that right
-- on every existing key: encrypt for encrypt(), blind_index() and
-- reencrypt(), decrypt for decrypt(), decrypt_bytea() and reencrypt().  A
-- member of such a role keeps inheriting it.  Keys created later are granted
-- with grant_key().
COMMENT ON FUNCTION zerocut.keyring_invalidate() IS
    'Statement trigger on zerocut.encryption_keys and zerocut.key_grant: any change (rotation, a grant, manual DML, restore) invalidates every backend''s key or grant cache';
-- Keys per role (issue 17): EXECUTE on encrypt()/decrypt() says which
-- functions a role may call, zerocut.key_grant with which keys.  Written only
-- by grant_key()/revoke_key() (superusers and the extension's owner), read by
-- the C++ as the extension's owner.  grantee is a regrole: a role dropped and
-- made again under the same name does not inherit the grants, and pg_dump
-- writes (and restores) the role by name.
CREATE TABLE zerocut.key_grant (
    key_name    text NOT NULL,
    grantee     regrole NOT NULL,
    can_encrypt boolean NOT NULL,
    can_decrypt boolean NOT NULL,
    PRIMARY KEY (key_name, grantee),
    CHECK (can_encrypt OR can_decrypt)
);
COMMENT ON TABLE zerocut.key_grant IS
    'Who may use which key: roles with the privileges of grantee may encrypt/blind-index (can_encrypt) and decrypt (can_decrypt) under every version of key_name; written by grant_key()/revoke_key(); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.key_grant FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.key_grant', '');
CREATE TRIGGER keyring_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.key_grant
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.keyring_invalidate();

CREATE FUNCTION zerocut.grant_key(key_name text, role name, encrypt boolean DEFAULT true, decrypt boolean DEFAULT true)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_grant_key';
COMMENT ON FUNCTION zerocut.grant_key(text, name, boolean, boolean) IS
    'Lets role (and the roles with its privileges) use every version of key_name: encrypt and blind_index (encrypt), decrypt (decrypt); adds to its rights; superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.grant_key(text, name, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.revoke_key(key_name text, role name, encrypt boolean DEFAULT true, decrypt boolean DEFAULT true)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_revoke_key';
COMMENT ON FUNCTION zerocut.revoke_key(text, name, boolean, boolean) IS
    'Takes the named rights on key_name from role (a grant left with neither is deleted); superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.revoke_key(text, name, boolean, boolean) FROM PUBLIC;
INSERT INTO zerocut.key_grant (key_name, grantee, can_encrypt, can_decrypt)
SELECT k.name, r.grantee::pg_catalog.regrole, pg_catalog.bool_or(r.encrypt), pg_catalog.bool_or(r.decrypt)
FROM (SELECT DISTINCT name FROM zerocut.encryption_keys) k
CROSS JOIN (
    SELECT a.grantee,
           f.oid IN ('zerocut.encrypt(text,text,text)'::pg_catalog.regprocedure,
                     'zerocut.encrypt(bytea,text,text)'::pg_catalog.regprocedure,
                     'zerocut.blind_index(text,text)'::pg_catalog.regprocedure,
                     'zerocut.blind_index(bytea,text)'::pg_catalog.regprocedure,
                     'zerocut.reencrypt(bytea,text)'::pg_catalog.regprocedure) AS encrypt,
           f.oid IN ('zerocut.decrypt(bytea,text)'::pg_catalog.regprocedure,
                     'zerocut.decrypt_bytea(bytea,text)'::pg_catalog.regprocedure,
                     'zerocut.reencrypt(bytea,text)'::pg_catalog.regprocedure) AS decrypt
    FROM pg_catalog.pg_proc f, pg_catalog.aclexplode(f.proacl) a
    WHERE f.pronamespace = 'zerocut'::pg_catalog.regnamespace
      AND f.proname IN ('encrypt', 'blind_index', 'reencrypt', 'decrypt', 'decrypt_bytea')
      AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0
) r
JOIN pg_catalog.pg_roles o ON o.oid = r.grantee
WHERE NOT o.rolsuper AND r.grantee <> (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'zerocut')
GROUP BY k.name, r.grantee;

-- issue 18: monitoring views (install/70_monitoring.sql)
-- This part: the monitoring views and configuration advice (issue 18, part
-- A) -- the seed's 性能监控视图 and 连接池优化 with the names PostgreSQL
-- really has.  docs/monitoring.md has the design and who may call what.
--
-- Who may use them: the members of pg_monitor (PostgreSQL's role for
-- monitoring tools; it includes pg_read_all_stats and pg_read_all_settings),
-- not PUBLIC.  Everything runs as its caller (views read pg_stat_* whose
-- functions check the querying role, not the view's owner), so a role
-- without pg_read_all_stats sees other roles' sessions and statements
-- without their query text, state and times.  Nothing here changes data.

-- pg_monitor needs to reach the objects granted to it below.
GRANT USAGE ON SCHEMA zerocut TO pg_monitor;

-- The seed's v_slow_queries, from whichever pg_stat_statements version is
-- installed: 1.8 and later (PostgreSQL 13+; 1.10 on 15, 1.11 on 17) name the
-- times total_exec_time/mean_exec_time, older ones total_time/mean_time.
-- pg_stat_statements is looked up when called (dynamic SQL), so zerocut
-- installs without it, and the view over this function too.
CREATE FUNCTION zerocut.slow_queries(min_mean_ms double precision DEFAULT 100)
    RETURNS TABLE(query text, calls bigint, total_time double precision, mean_time double precision, rows bigint,
                  hit_percent double precision, queryid bigint, username name, dbname name)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    statements_schema name;
    statements regclass;
    time_suffix text;
BEGIN
    IF min_mean_ms IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'argument "min_mean_ms" must not be NULL';
    END IF;
    IF min_mean_ms = 'NaN'::double precision OR min_mean_ms < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "min_mean_ms" must be a number of milliseconds >= 0 (%s given)', min_mean_ms);
    END IF;
    SELECT n.nspname INTO statements_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements';
    IF statements_schema IS NOT NULL THEN
        statements := to_regclass(format('%I.pg_stat_statements', statements_schema));
    END IF;
    IF statements IS NULL THEN
        -- pg_settings hides shared_preload_libraries from a role without
        -- pg_read_all_settings: then the HINT names both steps.
        IF EXISTS (SELECT FROM pg_settings s WHERE s.name = 'shared_preload_libraries'
                   AND s.setting ~ '(^|[\s,"/])pg_stat_statements(\.so)?"?\s*(,|$)') THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
                MESSAGE = format('pg_stat_statements is not installed in database %s', current_database()),
                HINT = 'It is in shared_preload_libraries: run CREATE EXTENSION pg_stat_statements in this database.';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('pg_stat_statements is not installed in database %s', current_database()),
            HINT = 'Add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the server, '
                   'then run CREATE EXTENSION pg_stat_statements in this database.';
    END IF;
    time_suffix := CASE WHEN EXISTS (SELECT FROM pg_attribute a
                                     WHERE a.attrelid = statements AND a.attname = 'mean_exec_time'
                                       AND NOT a.attisdropped)
                        THEN '_exec_time' ELSE '_time' END;
    BEGIN
        RETURN QUERY EXECUTE format(
            'SELECT s.query, s.calls, s.%1$I::float8, s.%2$I::float8, s.rows, '
            '       (100.0 * s.shared_blks_hit / nullif(s.shared_blks_hit + s.shared_blks_read, 0))::float8, '
            '       s.queryid, r.rolname, d.datname '
            'FROM %3$s s '
            'LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid '
            'LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid '
            'WHERE s.%2$I >= $1 '
            'ORDER BY s.%2$I DESC',
            'total' || time_suffix, 'mean' || time_suffix, statements)
        USING min_mean_ms;
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        -- Installed but not loaded: "pg_stat_statements must be loaded via shared_preload_libraries".
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = SQLERRM,
            HINT = 'Add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart the server.';
    END;
END
$$;
COMMENT ON FUNCTION zerocut.slow_queries(double precision) IS
    'Statements whose mean execution time is at least min_mean_ms (the seed''s v_slow_queries columns, slowest first), from whichever pg_stat_statements version is installed; ERROR with a HINT when it is not; runs as its caller (other roles'' query text needs pg_read_all_stats)';
REVOKE ALL ON FUNCTION zerocut.slow_queries(double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.slow_queries(double precision) TO pg_monitor;

CREATE VIEW zerocut.v_slow_queries AS
    SELECT s.query, s.calls, s.total_time, s.mean_time, s.rows, s.hit_percent, s.queryid, s.username, s.dbname
    FROM zerocut.slow_queries() s
    ORDER BY s.mean_time DESC;
COMMENT ON VIEW zerocut.v_slow_queries IS
    'The seed''s slow-query view: zerocut.slow_queries() with its default of 100 ms mean time';
GRANT SELECT ON zerocut.v_slow_queries TO pg_monitor;

-- Every table, partitioned table and materialized view outside the system
-- schemas with its heap, TOAST and index bytes.  A partitioned table counts
-- every partition below it (any level); partitions are not listed again.
-- The size functions wait while a table is locked ACCESS EXCLUSIVE (as
-- psql's \dt+ does); a table dropped meanwhile counts 0.
CREATE VIEW zerocut.v_table_sizes AS
    SELECT n.nspname AS schemaname, c.relname,
           CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'm' THEN 'materialized view' ELSE 'table' END AS kind,
           s.partitions,
           s.table_bytes - s.toast_bytes AS table_bytes, s.toast_bytes, s.index_bytes,
           s.table_bytes + s.index_bytes AS total_bytes,
           pg_catalog.pg_size_pretty(s.table_bytes + s.index_bytes) AS total_size
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE m.relid <> c.oid AND m.isleaf) AS partitions,
               coalesce(sum(coalesce(pg_catalog.pg_table_size(m.relid), 0)), 0)::bigint AS table_bytes,
               coalesce(sum(coalesce(pg_catalog.pg_total_relation_size(nullif(mc.reltoastrelid, 0)), 0)), 0)::bigint
                   AS toast_bytes,
               coalesce(sum(coalesce(pg_catalog.pg_indexes_size(m.relid), 0)), 0)::bigint AS index_bytes
        FROM (SELECT c.oid AS relid, true AS isleaf WHERE c.relkind <> 'p'
              UNION ALL
              SELECT t.relid, t.isleaf FROM pg_catalog.pg_partition_tree(c.oid) t WHERE c.relkind = 'p') m
        JOIN pg_catalog.pg_class mc ON mc.oid = m.relid
    ) s
    WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    ORDER BY s.table_bytes + s.index_bytes DESC, n.nspname, c.relname;
COMMENT ON VIEW zerocut.v_table_sizes IS
    'Heap, TOAST and index bytes of every user table, partitioned table (its partitions summed, not listed again) and materialized view, largest first';
GRANT SELECT ON zerocut.v_table_sizes TO pg_monitor;

-- The seed's v_index_usage with pg_stat_user_indexes' real column names.
-- An index that enforces a constraint (unique, primary key, exclusion) or
-- is the replica identity is never "Unused": dropping it changes what the
-- table accepts or what logical replication sends.  Counts start at the
-- last statistics reset (pg_stat_database.stats_reset).
CREATE VIEW zerocut.v_index_usage AS
    SELECT s.schemaname, s.relname, s.indexrelname,
           s.idx_scan AS scans, s.idx_tup_read AS tuples_read, s.idx_tup_fetch AS tuples_fetched,
           z.size_bytes, pg_catalog.pg_size_pretty(z.size_bytes) AS size,
           i.indisunique AS is_unique, i.indisprimary AS is_primary,
           (i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident) AS enforces_constraint,
           CASE WHEN NOT i.indisvalid THEN 'Invalid'
                WHEN s.idx_scan >= 100 THEN 'Active'
                WHEN i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident THEN 'Constraint'
                WHEN s.idx_scan = 0 THEN 'Unused'
                ELSE 'Low Usage' END AS status
    FROM pg_catalog.pg_stat_user_indexes s
    JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid
    -- OFFSET 0: one pg_relation_size() call per index, not one per column.
    CROSS JOIN LATERAL (SELECT coalesce(pg_catalog.pg_relation_size(s.indexrelid), 0) AS size_bytes OFFSET 0) z
    ORDER BY s.idx_scan, z.size_bytes DESC, s.schemaname, s.relname, s.indexrelname;
COMMENT ON VIEW zerocut.v_index_usage IS
    'Scans and size of every user index with a status: Unused (no scan), Low Usage (< 100), Active, Constraint (unique, primary key, exclusion or replica identity with < 100 scans: never Unused), Invalid (a failed CREATE INDEX CONCURRENTLY)';
GRANT SELECT ON zerocut.v_index_usage TO pg_monitor;

-- The seed's v_connection_stats: the client connections to this database
-- by state, plus how many of them wait for a lock and their share of
-- max_connections.  Every state PostgreSQL has is a row, with 0 when no
-- connection is in it, so "idle in transaction" always has its count;
-- 'unknown' are other roles' connections whose state the caller may not see.
CREATE VIEW zerocut.v_connection_stats AS
    WITH client AS (
        SELECT coalesce(a.state, 'unknown') AS state, a.state_change, a.wait_event_type
        FROM pg_catalog.pg_stat_activity a
        WHERE a.datname = pg_catalog.current_database() AND a.backend_type = 'client backend'
    ),
    known(state, ord) AS (
        VALUES ('active', 1), ('idle', 2), ('idle in transaction', 3), ('idle in transaction (aborted)', 4),
               ('fastpath function call', 5), ('disabled', 6)
    ),
    state_list AS (
        SELECT k.state, k.ord FROM known k
        UNION
        SELECT DISTINCT c.state, 7 FROM client c WHERE c.state NOT IN (SELECT k.state FROM known k)
    )
    SELECT l.state, count(c.state) AS connection_count,
           count(c.state) FILTER (WHERE c.wait_event_type = 'Lock') AS waiting_count,
           avg(EXTRACT(EPOCH FROM pg_catalog.now() - c.state_change))::double precision AS avg_duration_seconds,
           max(EXTRACT(EPOCH FROM pg_catalog.now() - c.state_change))::double precision AS max_duration_seconds,
           round(100.0 * count(c.state) / pg_catalog.current_setting('max_connections')::integer, 1)::double precision
               AS percent_of_max_connections
    FROM state_list l
    LEFT JOIN client c ON c.state = l.state
    GROUP BY l.state, l.ord
    ORDER BY l.ord, l.state;
COMMENT ON VIEW zerocut.v_connection_stats IS
    'Client connections to this database per state (every state a row, idle in transaction included), how many wait for a lock, how long they have been in the state, and their share of max_connections';
GRANT SELECT ON zerocut.v_connection_stats TO pg_monitor;

-- Shared-buffer hit ratios against the seed's target (缓存命中率达到 85%):
-- the whole database, user tables (heap and TOAST), user indexes.  NULL
-- ratio and meets_target before any block was read.  Reads served by the
-- operating system's cache count as reads here.
CREATE VIEW zerocut.v_cache_hit_ratio AS
    SELECT b.kind, b.blocks_hit, b.blocks_read,
           (100.0 * b.blocks_hit / nullif(b.blocks_hit + b.blocks_read, 0))::double precision AS hit_percent,
           85::double precision AS target_percent,
           100.0 * b.blocks_hit / nullif(b.blocks_hit + b.blocks_read, 0) >= 85 AS meets_target
    FROM (
        SELECT 'database'::text AS kind, 1 AS ord, d.blks_hit AS blocks_hit, d.blks_read AS blocks_read
        FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database()
        UNION ALL
        SELECT 'tables', 2, coalesce(sum(t.heap_blks_hit + coalesce(t.toast_blks_hit, 0)), 0)::bigint,
               coalesce(sum(t.heap_blks_read + coalesce(t.toast_blks_read, 0)), 0)::bigint
        FROM pg_catalog.pg_statio_user_tables t
        UNION ALL
        SELECT 'indexes', 3, coalesce(sum(i.idx_blks_hit), 0)::bigint, coalesce(sum(i.idx_blks_read), 0)::bigint
        FROM pg_catalog.pg_statio_user_indexes i
    ) b
    ORDER BY b.ord;
COMMENT ON VIEW zerocut.v_cache_hit_ratio IS
    'Shared-buffer hit percentage of this database, its user tables and its user indexes against the seed''s 85 % target';
GRANT SELECT ON zerocut.v_cache_hit_ratio TO pg_monitor;

-- Transactions open for at least min_duration, in every database: sessions
-- (client backends and background workers such as pg_cron's; not
-- autovacuum, WAL senders or parallel workers) and prepared transactions,
-- which hold back VACUUM just the same.  Oldest first.
CREATE FUNCTION zerocut.long_transactions(min_duration interval DEFAULT '5 minutes')
    RETURNS TABLE(kind text, pid integer, gid text, datname name, usename name, application_name text, state text,
                  xact_start timestamp with time zone, duration interval, wait_event_type text, wait_event text,
                  xmin_age integer, query text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_column
BEGIN
    IF min_duration IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'argument "min_duration" must not be NULL';
    END IF;
    IF min_duration < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'argument "min_duration" must not be negative';
    END IF;
    RETURN QUERY
    SELECT t.* FROM (
        SELECT 'session'::text, a.pid, NULL::text, a.datname, a.usename, a.application_name, a.state,
               a.xact_start, now() - a.xact_start, a.wait_event_type, a.wait_event, age(a.backend_xmin), a.query
        FROM pg_stat_activity a
        WHERE a.xact_start <= now() - min_duration
          AND a.backend_type NOT IN ('autovacuum worker', 'walsender', 'parallel worker')
        UNION ALL
        SELECT 'prepared', NULL, p.gid, p.database, p.owner, NULL, 'prepared',
               p.prepared, now() - p.prepared, NULL, NULL, age(p.transaction), NULL
        FROM pg_prepared_xacts p
        WHERE p.prepared <= now() - min_duration
    ) t(kind, pid, gid, datname, usename, application_name, state, xact_start, duration, wait_event_type,
        wait_event, xmin_age, query)
    ORDER BY t.xact_start, t.pid, t.gid;
END
$$;
COMMENT ON FUNCTION zerocut.long_transactions(interval) IS
    'Sessions and prepared transactions of every database whose transaction has been open for at least min_duration, oldest first, with what they wait for and how far they hold back VACUUM (xmin_age); runs as its caller (other roles'' sessions need pg_read_all_stats)';
REVOKE ALL ON FUNCTION zerocut.long_transactions(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.long_transactions(interval) TO pg_monitor;

CREATE VIEW zerocut.v_long_transactions AS
    SELECT t.kind, t.pid, t.gid, t.datname, t.usename, t.application_name, t.state, t.xact_start, t.duration,
           t.wait_event_type, t.wait_event, t.xmin_age, t.query
    FROM zerocut.long_transactions() t
    ORDER BY t.xact_start;
COMMENT ON VIEW zerocut.v_long_transactions IS
    'Transactions open for 5 minutes or more (zerocut.long_transactions() with its default)';
GRANT SELECT ON zerocut.v_long_transactions TO pg_monitor;

-- Replication as this server sees it, on a primary and on a standby:
-- 'standby' rows are the standbys streaming from this server
-- (pg_stat_replication; lag_bytes behind this server's WAL position),
-- an 'upstream' row exists on a standby (its WAL receiver, 'disconnected'
-- when there is none; lag_bytes received but not replayed, lag_seconds
-- since the last replayed transaction's commit while it is behind), and a
-- 'slot' row per replication slot (lag_bytes: the WAL it retains).
CREATE VIEW zerocut.v_replication_status AS
    WITH here AS (
        SELECT pg_catalog.pg_is_in_recovery() AS in_recovery,
               CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                    ELSE pg_catalog.pg_current_wal_lsn() END AS lsn
    )
    SELECT 'standby'::text AS kind, r.application_name::text AS name, r.client_addr::text AS client,
           r.state, r.sync_state, pg_catalog.pg_wal_lsn_diff(h.lsn, r.replay_lsn) AS lag_bytes,
           EXTRACT(EPOCH FROM r.replay_lag)::double precision AS lag_seconds
    FROM pg_catalog.pg_stat_replication r CROSS JOIN here h
    UNION ALL
    SELECT 'upstream', w.slot_name::text, w.sender_host || ':' || w.sender_port, coalesce(w.status, 'disconnected'),
           NULL, pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()),
           CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
                ELSE EXTRACT(EPOCH FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())::double precision
           END
    FROM here h LEFT JOIN pg_catalog.pg_stat_wal_receiver w ON true
    WHERE h.in_recovery
    UNION ALL
    SELECT 'slot', s.slot_name::text, s.database::text,
           CASE WHEN s.wal_status = 'lost' THEN 'lost' WHEN s.active THEN 'active' ELSE 'inactive' END,
           NULL, pg_catalog.pg_wal_lsn_diff(h.lsn, s.restart_lsn), NULL
    FROM pg_catalog.pg_replication_slots s CROSS JOIN here h;
COMMENT ON VIEW zerocut.v_replication_status IS
    'Replication seen from this server: standbys streaming from it (standby), its own WAL receiver when it is a standby (upstream), and replication slots with the WAL they retain (slot); lag in bytes and seconds';
GRANT SELECT ON zerocut.v_replication_status TO pg_monitor;

-- The seed's postgresql.conf recommendations scaled to this server
-- (src/core/config_advice.cpp has the rules; docs/monitoring.md explains
-- them).  memory_bytes, cores and connections replace what is read from the
-- machine and max_connections.  Runs as its caller; changes nothing.
CREATE FUNCTION zerocut.config_advice(memory_bytes bigint DEFAULT NULL, cores integer DEFAULT NULL,
                                      connections integer DEFAULT NULL)
    RETURNS TABLE(setting text, current text, recommended text, reason text, gap text, needs_change boolean,
                  needs_restart boolean)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_config_advice';
COMMENT ON FUNCTION zerocut.config_advice(bigint, integer, integer) IS
    'The seed''s postgresql.conf settings (max_connections, shared_buffers, effective_cache_size, work_mem, maintenance_work_mem, checkpoint_completion_target, wal_buffers, default_statistics_target, random_page_cost, effective_io_concurrency) and shared_preload_libraries, recommended for this server''s memory, cores and connections (or those given), with the gap, whether to change and whether a restart is needed';
REVOKE ALL ON FUNCTION zerocut.config_advice(bigint, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.config_advice(bigint, integer, integer) TO pg_monitor;

-- issue 18: jobs (install/72_jobs.sql)

CREATE FUNCTION zerocut.cron_schedule_interval(schedule text) RETURNS interval
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_cron_schedule_interval';
COMMENT ON FUNCTION zerocut.cron_schedule_interval(text) IS
    'The longest time between two runs of a pg_cron schedule (five cron fields, @hourly/@daily/@weekly/@monthly/@yearly, or ''N seconds''): ''1 hour'' for ''0 * * * *'', ''7 days'' for ''0 4 * * 0''; NULL for @reboot and for a schedule that never runs twice; 22023 naming the argument for text pg_cron would not accept';

CREATE TABLE zerocut.job_schedule (
    jobname      text PRIMARY KEY CHECK (jobname ~ '^zerocut-[a-z0-9][a-z0-9_-]*$'),
    schedule     text NOT NULL CHECK (zerocut.cron_schedule_interval(schedule) IS NOT NULL
                                      OR pg_catalog.lower(pg_catalog.btrim(schedule)) = '@reboot'),
    command      text NOT NULL CHECK (pg_catalog.btrim(command) <> ''),
    enabled      boolean NOT NULL DEFAULT true,
    scheduled_at timestamptz
);
COMMENT ON TABLE zerocut.job_schedule IS
    'zerocut''s pg_cron jobs: what schedule_jobs() registers (the enabled rows) under the job''s name; change a schedule here, then run schedule_jobs() again; kept by pg_dump (a restored row replaces the built-in row of the same name)';
COMMENT ON COLUMN zerocut.job_schedule.jobname IS
    'The pg_cron job name: zerocut- and lower-case letters, digits, - or _';
COMMENT ON COLUMN zerocut.job_schedule.schedule IS
    'pg_cron schedule (cron.timezone applies, GMT unless set): five cron fields, a shortcut such as @daily, or ''N seconds'' (pg_cron 1.5+)';
COMMENT ON COLUMN zerocut.job_schedule.command IS
    'The one SQL statement pg_cron runs, as the role that called schedule_jobs(), in this database';
COMMENT ON COLUMN zerocut.job_schedule.enabled IS
    'false: schedule_jobs() removes the job from pg_cron (a deleted built-in row comes back with the next restore; disable it instead)';
COMMENT ON COLUMN zerocut.job_schedule.scheduled_at IS
    'When schedule_jobs() last registered or changed the job (the jobs view counts a job overdue from here until its first success)';

-- The built-in jobs.  Staggered minutes, so they do not start together.
INSERT INTO zerocut.job_schedule (jobname, schedule, command) VALUES
    ('zerocut-partition-maintenance', '5 * * * *', 'CALL zerocut.run_maintenance_proc()'),
    ('zerocut-analytics-refresh', '15 * * * *', 'SELECT pg_catalog.count(*) FROM zerocut.refresh_analytics_views()'),
    ('zerocut-archive', '30 2 * * *', 'CALL zerocut.archive_proc()'),
    ('zerocut-auto-maintenance', '0 3 * * 0', 'SELECT pg_catalog.count(*) FROM zerocut.auto_maintenance()'),
    ('zerocut-vacuum', '0 4 * * 0',
     'VACUUM (ANALYZE) user_management."USER", workspace_domain.workspace, workspace_domain.user_workspace, '
     'financial_management.account, financial_management.consumption_record, api_management.api_key, '
     'data_statistics.usage_stats, audit_log.system_log'),
    ('zerocut-prune-job-history', '45 0 * * *',
     'DELETE FROM cron.job_run_details WHERE coalesce(end_time, start_time) < pg_catalog.now() - interval ''14 days''');
SELECT pg_catalog.pg_extension_config_dump('zerocut.job_schedule', '');

-- pg_dump writes every row of the table, and its restore runs CREATE
-- EXTENSION first, which inserts the built-in rows again: a restored row
-- then replaces the built-in row of its name instead of failing on the key.
CREATE FUNCTION zerocut.job_schedule_merge() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE zerocut.job_schedule j
    SET schedule = NEW.schedule, command = NEW.command, enabled = NEW.enabled, scheduled_at = NEW.scheduled_at
    WHERE j.jobname = NEW.jobname;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION zerocut.job_schedule_merge() IS
    'BEFORE INSERT trigger of zerocut.job_schedule: a row whose jobname exists replaces that row (so a pg_dump restore keeps changed built-in jobs)';
REVOKE ALL ON FUNCTION zerocut.job_schedule_merge() FROM PUBLIC;
CREATE TRIGGER job_schedule_merge BEFORE INSERT ON zerocut.job_schedule
    FOR EACH ROW EXECUTE FUNCTION zerocut.job_schedule_merge();

-- Raises the error that says what is missing for scheduling through pg_cron
-- from this database, and that the caller may schedule zerocut's jobs.
CREATE FUNCTION zerocut.require_pg_cron(caller text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cron_database text;
    cron_version text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles r
                   WHERE r.rolname = current_user
                     AND (r.rolsuper OR r.oid = (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'zerocut'))) THEN
        RAISE EXCEPTION '%: only a superuser or the owner of extension zerocut may schedule zerocut''s jobs', caller
            USING ERRCODE = '42501',
                  HINT = 'pg_cron runs a job as the role that scheduled it: schedule them as the role that should '
                         'do the work.';
    END IF;
    SELECT e.extversion INTO cron_version FROM pg_extension e WHERE e.extname = 'pg_cron';
    IF cron_version IS NULL THEN
        BEGIN
            cron_database := coalesce(current_setting('cron.database_name', true), '');
        EXCEPTION WHEN insufficient_privilege THEN
            cron_database := NULL;  -- pg_cron's settings are for superusers (and pg_read_all_settings) only
        END;
        IF cron_database = '' THEN
            RAISE EXCEPTION '%: pg_cron is not loaded in this server', caller
                USING ERRCODE = '55000',
                      HINT = format('Add pg_cron to shared_preload_libraries and set cron.database_name = %L in '
                                    'postgresql.conf, restart the server, then run CREATE EXTENSION pg_cron in '
                                    'database %I.', current_database(), current_database());
        ELSIF cron_database <> current_database() THEN
            RAISE EXCEPTION '%: pg_cron schedules jobs from database "%" (cron.database_name), not from "%"',
                caller, cron_database, current_database()
                USING ERRCODE = '55000',
                      HINT = format('Set cron.database_name = %L and restart the server to schedule from here, or '
                                    'in database %I run SELECT cron.schedule_in_database(jobname, schedule, '
                                    'command, %L) for each enabled row of zerocut.job_schedule.',
                                    current_database(), cron_database, current_database());
        ELSE
            RAISE EXCEPTION '%: extension pg_cron is not installed in this database', caller
                USING ERRCODE = '55000',
                      HINT = format('Run CREATE EXTENSION pg_cron; (pg_cron must be in shared_preload_libraries '
                                    'with cron.database_name = %L).', current_database());
        END IF;
    END IF;
    IF to_regprocedure('cron.schedule(text,text,text)') IS NULL
       OR to_regprocedure('cron.unschedule(bigint)') IS NULL THEN
        RAISE EXCEPTION '%: pg_cron % is too old (zerocut needs 1.4 or later)', caller, cron_version
            USING ERRCODE = '55000', HINT = 'Run ALTER EXTENSION pg_cron UPDATE;';
    END IF;
    IF NOT has_schema_privilege('cron', 'USAGE') THEN
        RAISE EXCEPTION '%: permission denied for schema cron', caller
            USING ERRCODE = '42501', HINT = format('As a superuser: GRANT USAGE ON SCHEMA cron TO %I;', current_user);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.require_pg_cron(text) IS
    'Used by schedule_jobs()/unschedule_jobs() (caller names them in the message): an error with a hint unless the current user is a superuser or the extension owner (42501), pg_cron 1.4+ is installed in this database (55000: not loaded, scheduling from another database, not created, too old) and the user has USAGE on schema cron (42501); executable by PUBLIC: it reads only what every role may read';

CREATE FUNCTION zerocut.schedule_jobs()
    RETURNS TABLE(jobname text, schedule text, command text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job record;
    found_job record;
    removed text[] := '{}';
    paused text[] := '{}';
BEGIN
    PERFORM zerocut.require_pg_cron('schedule_jobs()');
    -- A job of the same name that another role owns, or that runs in another
    -- database, would run beside ours: refuse rather than run twice.
    FOR found_job IN EXECUTE
        'SELECT j.jobname, j.username, j.database FROM cron.job j
         JOIN zerocut.job_schedule s ON s.jobname = j.jobname
         WHERE s.enabled AND (j.username <> current_user OR j.database <> current_database())
         ORDER BY j.jobname, j.username, j.database'
    LOOP
        RAISE EXCEPTION 'schedule_jobs(): pg_cron job % already exists for role % in database %',
            quote_literal(found_job.jobname), quote_ident(found_job.username), quote_ident(found_job.database)
            USING ERRCODE = '42710',
                  HINT = 'Remove it first (zerocut.unschedule_jobs() as a superuser removes every role''s zerocut '
                         'jobs in this database), or call schedule_jobs() as that role.';
    END LOOP;

    FOR job IN SELECT s.jobname, s.schedule, s.command FROM zerocut.job_schedule s WHERE s.enabled
               ORDER BY s.jobname LOOP
        EXECUTE 'SELECT j.jobid, j.schedule, j.command, j.active FROM cron.job j
                 WHERE j.jobname = $1 AND j.username = current_user'
            INTO found_job USING job.jobname;
        IF found_job.jobid IS NULL OR found_job.schedule IS DISTINCT FROM job.schedule
           OR found_job.command IS DISTINCT FROM job.command THEN
            -- pg_cron updates a job of the same name and role in place (its
            -- jobid and history stay).
            EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING job.jobname, job.schedule, job.command;
            UPDATE zerocut.job_schedule s SET scheduled_at = now() WHERE s.jobname = job.jobname;
        END IF;
        IF found_job.jobid IS NOT NULL AND NOT found_job.active THEN
            paused := paused || job.jobname;
        END IF;
        jobname := job.jobname;
        schedule := job.schedule;
        command := job.command;
        RETURN NEXT;
    END LOOP;

    -- The caller's zerocut jobs here that the table no longer enables.
    FOR found_job IN EXECUTE
        'SELECT j.jobid, j.jobname FROM cron.job j
         WHERE left(j.jobname, 8) = ''zerocut-'' AND j.username = current_user AND j.database = current_database()
           AND NOT EXISTS (SELECT FROM zerocut.job_schedule s WHERE s.jobname = j.jobname AND s.enabled)
         ORDER BY j.jobname, j.jobid'
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING found_job.jobid;
        removed := removed || found_job.jobname;
    END LOOP;
    IF cardinality(removed) > 0 THEN
        RAISE NOTICE 'zerocut: schedule_jobs() removed the pg_cron jobs zerocut.job_schedule does not enable: %',
            array_to_string(removed, ', ');
    END IF;
    IF cardinality(paused) > 0 THEN
        RAISE NOTICE 'zerocut: these jobs are paused in pg_cron (cron.job.active = false) and stay paused: %',
            array_to_string(paused, ', ')
            USING HINT = 'Resume one with SELECT cron.alter_job(jobid, active => true);';
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.schedule_jobs() IS
    'Registers in pg_cron, under the current role (pg_cron runs them as it) and in this database, every enabled job of zerocut.job_schedule; idempotent (an unchanged job is left alone, a changed schedule or command updates the job in place, keeping its jobid); removes the caller''s zerocut-* jobs the table does not enable; returns the registered jobs; superusers and the extension owner only; pg_cron missing or in another database: 55000 with a hint';
REVOKE ALL ON FUNCTION zerocut.schedule_jobs() FROM PUBLIC;

CREATE FUNCTION zerocut.unschedule_jobs()
    RETURNS TABLE(jobid bigint, jobname text, username text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_job record;
BEGIN
    PERFORM zerocut.require_pg_cron('unschedule_jobs()');
    -- pg_cron's row security shows a role its own jobs, a superuser all.
    FOR found_job IN EXECUTE
        'SELECT j.jobid, j.jobname, j.username FROM cron.job j
         WHERE left(j.jobname, 8) = ''zerocut-'' AND j.database = current_database()
         ORDER BY j.jobname, j.username, j.jobid'
    LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING found_job.jobid;
        jobid := found_job.jobid;
        jobname := found_job.jobname;
        username := found_job.username;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION zerocut.unschedule_jobs() IS
    'Removes from pg_cron the jobs named zerocut-* that run in this database (a superuser''s call: every role''s; otherwise the caller''s own) and returns them; no other job is touched; superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.unschedule_jobs() FROM PUBLIC;

-- The jobs view's rows.  SECURITY DEFINER: a monitoring role granted the
-- view sees the zerocut jobs as the extension's owner does (pg_cron shows a
-- role only its own jobs), and needs no grant on pg_cron or job_schedule.
-- cron.* is read with EXECUTE, so the function exists without pg_cron.
CREATE FUNCTION zerocut.job_status()
    RETURNS TABLE(jobname text, jobid bigint, username text, schedule text, command text, enabled boolean,
                  state text, last_start timestamptz, last_status text, last_duration interval, last_error text,
                  last_error_at timestamptz, last_success timestamptz, run_interval interval, overdue boolean,
                  problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job record;
    scheduled_at timestamptz;
    since timestamptz;
BEGIN
    IF to_regclass('cron.job') IS NULL OR to_regclass('cron.job_run_details') IS NULL THEN
        -- No pg_cron here: the configured jobs, none scheduled.
        FOR job IN SELECT s.jobname, s.schedule, s.command, s.enabled FROM zerocut.job_schedule s
                   ORDER BY s.jobname LOOP
            jobname := job.jobname; jobid := NULL; username := NULL;
            schedule := job.schedule; command := job.command; enabled := job.enabled;
            state := CASE WHEN job.enabled THEN 'not scheduled' ELSE 'disabled' END;
            last_start := NULL; last_status := NULL; last_duration := NULL; last_error := NULL;
            last_error_at := NULL; last_success := NULL; overdue := NULL; problem := NULL;
            BEGIN
                run_interval := zerocut.cron_schedule_interval(job.schedule);
            EXCEPTION WHEN invalid_parameter_value THEN
                run_interval := NULL;
            END;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;
    FOR job IN EXECUTE
        'WITH ours AS (
             SELECT j.jobid, j.jobname, j.username, j.schedule, j.command, j.active
             FROM cron.job j
             WHERE left(j.jobname, 8) = ''zerocut-'' AND j.database = current_database()
         ), runs AS (
             SELECT d.jobid, max(d.runid) AS last_runid,
                    max(d.runid) FILTER (WHERE d.status = ''failed'') AS failed_runid,
                    max(d.end_time) FILTER (WHERE d.status = ''succeeded'') AS last_success
             FROM cron.job_run_details d
             WHERE d.jobid IN (SELECT o.jobid FROM ours o)
             GROUP BY d.jobid
         )
         SELECT coalesce(o.jobname, s.jobname) AS jobname, o.jobid, o.username,
                coalesce(o.schedule, s.schedule) AS schedule, coalesce(o.command, s.command) AS command,
                s.enabled, o.active, s.scheduled_at,
                l.start_time AS last_start, l.status AS last_status, l.end_time - l.start_time AS last_duration,
                f.return_message AS last_error, coalesce(f.end_time, f.start_time) AS last_error_at,
                r.last_success
         FROM ours o
         FULL JOIN zerocut.job_schedule s ON s.jobname = o.jobname
         LEFT JOIN runs r ON r.jobid = o.jobid
         LEFT JOIN cron.job_run_details l ON l.runid = r.last_runid
         LEFT JOIN cron.job_run_details f ON f.runid = r.failed_runid
         ORDER BY 1, o.username, o.jobid'
    LOOP
        jobname := job.jobname; jobid := job.jobid; username := job.username;
        schedule := job.schedule; command := job.command; enabled := job.enabled;
        state := CASE WHEN job.jobid IS NULL THEN CASE WHEN job.enabled THEN 'not scheduled' ELSE 'disabled' END
                      WHEN NOT job.active THEN 'paused'
                      ELSE 'scheduled' END;
        last_start := job.last_start; last_status := job.last_status; last_duration := job.last_duration;
        last_error := job.last_error; last_error_at := job.last_error_at; last_success := job.last_success;
        BEGIN
            run_interval := zerocut.cron_schedule_interval(job.schedule);
        EXCEPTION WHEN invalid_parameter_value THEN
            run_interval := NULL;
        END;
        -- Overdue: no success within two intervals of the last success, or
        -- of the (re)scheduling when there was none since.
        scheduled_at := CASE WHEN job.jobid IS NOT NULL THEN job.scheduled_at END;
        since := greatest(job.last_success, scheduled_at);
        overdue := CASE WHEN state <> 'scheduled' THEN false
                        WHEN run_interval IS NULL OR since IS NULL THEN NULL
                        ELSE since < now() - 2 * run_interval END;
        problem := CASE WHEN state = 'scheduled' AND job.last_status = 'failed' THEN 'failed'
                        WHEN overdue THEN 'overdue' END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION zerocut.job_status() IS
    'The rows of the view zerocut.jobs; SECURITY DEFINER (reads pg_cron as the extension owner); works without pg_cron (configured jobs, not scheduled)';
REVOKE ALL ON FUNCTION zerocut.job_status() FROM PUBLIC;

CREATE VIEW zerocut.jobs AS SELECT * FROM zerocut.job_status();
COMMENT ON VIEW zerocut.jobs IS
    'Every zerocut job (the rows of zerocut.job_schedule and the pg_cron jobs named zerocut-* in this database): schedule, state (scheduled, paused, not scheduled, disabled), last run (start, status, duration), last failure (message, time), last success, the longest interval between runs, overdue (no success within two intervals), and problem: failed (the last run failed) or overdue, NULL when healthy';

CREATE FUNCTION zerocut.auto_maintenance(min_change_ratio real DEFAULT 0.1)
    RETURNS TABLE(tbl regclass, action text, rows_changed bigint, duration interval)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_auto_maintenance';
COMMENT ON FUNCTION zerocut.auto_maintenance(real) IS
    'ANALYZEs each domain table and partition whose rows changed since its last analyze (pg_stat n_mod_since_analyze) by more than min_change_ratio (0..1000000) of its rows, and each partitioned domain table whose partitions did (with its partitions); returns one row per such table (analyzed, skipped: locked by another session, or failed: message) and writes one summary row to audit_log.system_log; tables the caller may not ANALYZE are left out with a NOTICE; ANALYZE works as each table''s owner; on a hot standby no rows and a NOTICE';
REVOKE ALL ON FUNCTION zerocut.auto_maintenance(real) FROM PUBLIC;

-- issue 19: migration ledger
-- (install/80_migrations.sql.)  The ledger starts empty: the next
-- install_domain_schema() records the domain steps.
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

-- issue 19: online copy
-- Online table copy with change capture (issue 19, docs/online_copy.md):
-- CALL online_copy() copies a table into a new one in committed keyset
-- batches while a trigger records the keys of rows changed meanwhile;
-- online_copy_finish() replays the last changes under a short, retried
-- lock, verifies and optionally swaps the names; migrate_user_data() is the
-- seed's "USER" -> "USER_NEW" migration built on them.

-- One row per copy in progress: what is copied where, how far it got.
CREATE SEQUENCE zerocut.online_copy_id_seq AS integer;
CREATE TABLE zerocut.online_copy (
    copy_id          integer PRIMARY KEY DEFAULT nextval('zerocut.online_copy_id_seq'),
    source           regclass NOT NULL UNIQUE,
    target           regclass NOT NULL UNIQUE,
    source_name      text NOT NULL,
    target_name      text NOT NULL,
    key_columns      name[] NOT NULL CHECK (cardinality(key_columns) > 0),
    column_map       jsonb,
    batch_size       integer NOT NULL CHECK (batch_size > 0),
    phase            text NOT NULL DEFAULT 'copying' CHECK (phase IN ('copying', 'copied')),
    last_key         jsonb,
    rows_copied      bigint NOT NULL DEFAULT 0,
    batches          bigint NOT NULL DEFAULT 0,
    changes_replayed bigint NOT NULL DEFAULT 0,
    copy_ms          double precision NOT NULL DEFAULT 0,
    started_by       text NOT NULL,
    started_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    copied_at        timestamptz,
    CHECK (source <> target)
);
ALTER SEQUENCE zerocut.online_copy_id_seq OWNED BY zerocut.online_copy.copy_id;
COMMENT ON TABLE zerocut.online_copy IS
    'Online copies in progress (CALL online_copy): source, target, key columns, column_map, the last key copied (resume point), counts; a row lives from the first CALL until online_copy_finish() or online_copy_abandon(); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.online_copy FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.online_copy', '');
SELECT pg_catalog.pg_extension_config_dump('zerocut.online_copy_id_seq', '');

-- A copy begun or ended invalidates every relcache entry: the capture
-- trigger caches, per table, whether it logs (progress updates do not fire it).
CREATE FUNCTION zerocut.online_copy_invalidate() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_online_copy_invalidate';
COMMENT ON FUNCTION zerocut.online_copy_invalidate() IS
    'Statement trigger on zerocut.online_copy (INSERT, DELETE, TRUNCATE): invalidates every relcache entry, so every backend''s capture trigger re-reads which tables it logs';
REVOKE ALL ON FUNCTION zerocut.online_copy_invalidate() FROM PUBLIC;
CREATE TRIGGER online_copy_invalidate AFTER INSERT OR DELETE OR TRUNCATE ON zerocut.online_copy
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.online_copy_invalidate();

-- The change log: the key of every row inserted, updated or deleted in a
-- source since its copy began (written by the capture trigger), until
-- replayed into the target.
CREATE SEQUENCE zerocut.online_copy_log_seq;
CREATE TABLE zerocut.online_copy_log (
    copy_id integer NOT NULL,
    seq     bigint NOT NULL DEFAULT nextval('zerocut.online_copy_log_seq'),
    key     jsonb NOT NULL,
    PRIMARY KEY (copy_id, seq)
);
ALTER SEQUENCE zerocut.online_copy_log_seq OWNED BY zerocut.online_copy_log.seq;
COMMENT ON TABLE zerocut.online_copy_log IS
    'Keys (a jsonb array in primary-key order) of source rows changed since their online copy began, written by the capture trigger, deleted once replayed into the target; kept by pg_dump';
REVOKE ALL ON TABLE zerocut.online_copy_log FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.online_copy_log', '');
SELECT pg_catalog.pg_extension_config_dump('zerocut.online_copy_log_seq', '');

CREATE VIEW zerocut.copy_progress AS
SELECT c.copy_id,
       c.source,
       c.target,
       c.phase,
       c.rows_copied,
       CASE WHEN cl.reltuples >= 0 THEN cl.reltuples::bigint END AS source_rows_estimate,
       CASE WHEN c.phase = 'copied' THEN 100.0
            WHEN cl.reltuples > 0
            THEN pg_catalog.round(LEAST(100.0, 100.0 * c.rows_copied / cl.reltuples::numeric), 1)
       END AS percent_done,
       c.batches,
       c.batch_size,
       (SELECT pg_catalog.count(*) FROM zerocut.online_copy_log l WHERE l.copy_id = c.copy_id) AS changes_pending,
       c.changes_replayed,
       CASE WHEN c.copy_ms > 0 THEN pg_catalog.round((c.rows_copied / (c.copy_ms / 1000.0))::numeric) END
           AS rows_per_second,
       c.last_key,
       c.started_by,
       c.started_at,
       c.updated_at,
       c.copied_at
FROM zerocut.online_copy c
LEFT JOIN pg_catalog.pg_class cl ON cl.oid = c.source::pg_catalog.oid;
COMMENT ON VIEW zerocut.copy_progress IS
    'Progress of every online copy: phase (copying, copied = ready for online_copy_finish), rows copied of the source''s estimated rows, batches, captured changes pending and replayed, rows per second of copying, the last key copied (where a CALL resumes)';
REVOKE ALL ON TABLE zerocut.copy_progress FROM PUBLIC;

CREATE FUNCTION zerocut.online_copy_capture() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_online_copy_capture';
COMMENT ON FUNCTION zerocut.online_copy_capture() IS
    'Capture trigger made by online_copy() on its source: AFTER INSERT/UPDATE/DELETE FOR EACH ROW it logs the row''s primary key (old and new when it changes) to zerocut.online_copy_log; BEFORE TRUNCATE it refuses (a TRUNCATE is not captured); does nothing on a table that has no copy recorded under its argument';
REVOKE ALL ON FUNCTION zerocut.online_copy_capture() FROM PUBLIC;

CREATE FUNCTION zerocut.online_copy_pending(copy_id integer, max_rows integer DEFAULT NULL)
    RETURNS TABLE(seq bigint, key jsonb)
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'zc_online_copy_pending';
COMMENT ON FUNCTION zerocut.online_copy_pending(integer, integer) IS
    'The captured changes not yet replayed of online copy copy_id (oldest first, at most max_rows), read with the calling statement''s snapshot; only for a role that owns the copy''s source (42501 otherwise)';

CREATE PROCEDURE zerocut.online_copy(source regclass, target regclass, column_map jsonb DEFAULT NULL,
                                     batch_size integer DEFAULT 5000)
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_online_copy';
COMMENT ON PROCEDURE zerocut.online_copy(regclass, regclass, jsonb, integer) IS
    'Copies source into the empty table target online (CALL at top level): installs change capture on source, copies rows in primary-key order in committed batches of batch_size (keyset, never OFFSET), target columns from column_map expressions (SQL over the source row) or the source column of the same name, then replays captured changes; resumable after cancel or crash by calling it again; progress in zerocut.copy_progress; the caller must own both tables, the work runs as their owner';
REVOKE ALL ON PROCEDURE zerocut.online_copy(regclass, regclass, jsonb, integer) FROM PUBLIC;

CREATE FUNCTION zerocut.online_copy_finish(source regclass, target regclass, swap boolean DEFAULT false)
    RETURNS TABLE(source_name text, target_name text, verified_rows bigint, pending_rows bigint, replayed bigint,
                  target_rows bigint, checksum text, compared_columns text[], lock_attempts integer,
                  lock_wait_ms double precision, lock_held_ms double precision, swapped boolean, details jsonb)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_online_copy_finish';
COMMENT ON FUNCTION zerocut.online_copy_finish(regclass, regclass, boolean) IS
    'Ends an online copy: replays captured changes, verifies row counts and a checksum of the columns copied by name (ERROR on a mismatch, nothing changed), takes a short ACCESS EXCLUSIVE lock (lock_timeout, retried with back-off), replays the last changes, optionally renames source to <name>_old and target to <name> (incoming foreign keys, dependent views, triggers, grants and sequences follow), and removes the capture; the caller must own both tables, the work runs as their owner';
REVOKE ALL ON FUNCTION zerocut.online_copy_finish(regclass, regclass, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.online_copy_abandon(source regclass) RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_online_copy_abandon';
COMMENT ON FUNCTION zerocut.online_copy_abandon(regclass) IS
    'Gives up the online copy of source: removes its capture triggers (short retried lock), its progress row and captured changes; the target keeps the rows copied so far; false with a NOTICE when source has no copy; the caller must own source';
REVOKE ALL ON FUNCTION zerocut.online_copy_abandon(regclass) FROM PUBLIC;

CREATE PROCEDURE zerocut.migrate_user_data(users regclass DEFAULT NULL)
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_migrate_user_data';
COMMENT ON PROCEDURE zerocut.migrate_user_data(regclass) IS
    'The seed''s migration, online: a legacy user table (default user_management."USER"; phone in clear, no phone_encrypted/timezone/language/preferences) is copied into <name>_NEW in the new shape with phone encrypted under key ''default'' (context <schema>.<name>.phone) and blind-indexed, then swapped in and protected by protect_column(); does nothing (NOTICE) when the table already has the new shape; CALL at top level; resumable';
REVOKE ALL ON PROCEDURE zerocut.migrate_user_data(regclass) FROM PUBLIC;

-- A dropped source or target ends its copy (an OID could otherwise be
-- reused by a later table).  A capture trigger left on a source whose target
-- was dropped finds no copy and does nothing; online_copy_abandon() removes it.
CREATE FUNCTION zerocut.online_copy_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped pg_catalog.int4[];
BEGIN
    SELECT pg_catalog.array_agg(c.copy_id) INTO dropped
    FROM zerocut.online_copy c
    JOIN pg_catalog.pg_event_trigger_dropped_objects() d
      ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
     AND d.objid IN (c.source::pg_catalog.oid, c.target::pg_catalog.oid);
    IF dropped IS NOT NULL THEN
        DELETE FROM zerocut.online_copy_log WHERE copy_id = ANY (dropped);
        DELETE FROM zerocut.online_copy WHERE copy_id = ANY (dropped);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.online_copy_forget_dropped() IS
    'sql_drop event trigger function: deletes the online copies (and their captured changes) whose source or target was dropped';
REVOKE ALL ON FUNCTION zerocut.online_copy_forget_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_online_copy_forget_dropped ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED', 'DROP EXTENSION', 'DROP TYPE')
    EXECUTE FUNCTION zerocut.online_copy_forget_dropped();
COMMENT ON EVENT TRIGGER zerocut_online_copy_forget_dropped IS
    'Deletes the online copies whose source or target was dropped (DROP TABLE, DROP SCHEMA ... CASCADE, DROP OWNED)';
-- issue 18: alerts, capacity_forecast, metrics
-- (install/74_alerts.sql)
-- This part: alerts, metrics and the capacity forecast (issue 18, part C;
-- docs/monitoring.md, "Alerts and metrics").  One function finds the facts
-- (monitor_facts); the view alerts and metrics() are two readings of them,
-- so an alert and the number behind it never disagree.
--
-- Who may use them: pg_monitor's members (like the views of part A), not
-- PUBLIC.  monitor_facts() runs as its caller and reads only catalogs,
-- statistics, zerocut's own configuration tables and views, and
-- job_status() (granted below) and check_security() (where the caller may
-- execute it); the one part that reads a user table (the
-- archive backlog) does so only where the caller may SELECT the column, and
-- skips the table otherwise.

-- What monitor_facts() reads besides catalogs and statistics: the
-- partition registry, the archive policies (configuration, no business
-- data) and the jobs (job_status() is SECURITY DEFINER: it reads pg_cron as
-- the extension owner).  The security linter is not granted: its findings
-- are a list of weak spots (install/65_check_security.sql), so they show
-- only to callers who may execute check_security() -- superusers, or a role
-- the DBA grants it to (docs/monitoring.md).
GRANT SELECT ON zerocut.partition_config, zerocut.archive_policy TO pg_monitor;
GRANT EXECUTE ON FUNCTION zerocut.job_status() TO pg_monitor;
GRANT SELECT ON zerocut.jobs TO pg_monitor;

-- One row per fact: kind and object say what it is about; metric, labels
-- and value are its number (NULL metric: an alert only, e.g. one security
-- finding); severity, problem and fix are set when it needs a person.
CREATE FUNCTION zerocut.monitor_facts(long_transaction interval DEFAULT '15 minutes',
                                      replication_lag interval DEFAULT '60 seconds',
                                      cache_hit_percent double precision DEFAULT 85,
                                      cache_min_blocks bigint DEFAULT 100000,
                                      unused_index_bytes bigint DEFAULT 104857600,
                                      partitions_ahead integer DEFAULT 2)
    RETURNS TABLE(kind text, object text, severity text, problem text, fix text, metric text, labels jsonb,
                  value double precision)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    -- A monitoring read never queues behind a lock (the archive backlog's
    -- query is the only one that takes a table lock): it skips instead.
    SET lock_timeout = '100ms'
    SET jit = off
    AS $$
#variable_conflict use_column
DECLARE
    policy record;
    source regclass;
    cutoff timestamp;
    oldest timestamptz;
    backlog double precision;
BEGIN
    IF long_transaction IS NULL OR replication_lag IS NULL OR cache_hit_percent IS NULL OR cache_min_blocks IS NULL
       OR unused_index_bytes IS NULL OR partitions_ahead IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('argument "%s" must not be NULL',
                             CASE WHEN long_transaction IS NULL THEN 'long_transaction'
                                  WHEN replication_lag IS NULL THEN 'replication_lag'
                                  WHEN cache_hit_percent IS NULL THEN 'cache_hit_percent'
                                  WHEN cache_min_blocks IS NULL THEN 'cache_min_blocks'
                                  WHEN unused_index_bytes IS NULL THEN 'unused_index_bytes'
                                  ELSE 'partitions_ahead' END);
    END IF;
    IF long_transaction < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "long_transaction" must not be negative';
    ELSIF replication_lag < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "replication_lag" must not be negative';
    ELSIF cache_hit_percent = 'NaN'::double precision OR cache_hit_percent < 0 OR cache_hit_percent > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "cache_hit_percent" must be between 0 and 100 (%s given)', cache_hit_percent);
    ELSIF cache_min_blocks < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "cache_min_blocks" must not be negative';
    ELSIF unused_index_bytes < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "unused_index_bytes" must not be negative';
    ELSIF partitions_ahead < 0 OR partitions_ahead > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "partitions_ahead" must be between 0 and 1000 (%s given)', partitions_ahead);
    END IF;

    -- 1. zerocut's pg_cron jobs (none without pg_cron): the last run failed
    -- (critical) or no success within two intervals (warning).
    IF has_function_privilege('zerocut.job_status()', 'EXECUTE') THEN
        RETURN QUERY
        SELECT 'job', j.jobname,
               CASE WHEN j.problem = m.problem THEN CASE m.problem WHEN 'failed' THEN 'critical' ELSE 'warning' END END,
               CASE WHEN j.problem = m.problem THEN
                   CASE m.problem
                       WHEN 'failed' THEN format('pg_cron job %s failed (last run started %s): %s', j.jobname,
                                                 j.last_start, coalesce(j.last_error, 'no message'))
                       ELSE format('pg_cron job %s has not succeeded for over two intervals (%s) since %s',
                                   j.jobname, 2 * j.run_interval, coalesce(j.last_success::text, 'it was scheduled'))
                   END END,
               CASE WHEN j.problem = m.problem THEN
                   CASE m.problem
                       WHEN 'failed' THEN format('Read the error (SELECT last_error FROM zerocut.jobs WHERE jobname = %L), fix its cause and run the command once by hand: %s', j.jobname, j.command)
                       ELSE 'Check that pg_cron runs (the server log, SELECT * FROM cron.job_run_details ORDER BY start_time DESC LIMIT 20) and that the job is not stuck (zerocut.v_long_transactions)'
                   END END,
               'zerocut_job_' || m.problem, jsonb_build_object('job', j.jobname),
               (j.problem IS NOT DISTINCT FROM m.problem)::integer::double precision
        FROM zerocut.job_status() j
        CROSS JOIN (VALUES ('failed'), ('overdue')) m(problem)
        WHERE j.state = 'scheduled';
    END IF;

    -- 2. and 3. Managed partitioned tables (the partition registry): fewer
    -- partitions made ahead than wanted (the smaller of partitions_ahead and
    -- the table's premake; none: critical), and rows in the default
    -- partition (live tuples of the statistics: no lock, no read of the
    -- table).  Bounds are parsed as zerocut.partition_health does.
    RETURN QUERY
    WITH managed AS (
        SELECT c.parent::oid AS parent, c.premake, c.time_zone, c.granularity,
               a.atttypid = 'timestamptz'::regtype AS with_zone
        FROM zerocut.partition_config c
        JOIN pg_class p ON p.oid = c.parent AND p.relkind = 'p'
        JOIN pg_attribute a ON a.attrelid = c.parent AND a.attname = c.control_column AND NOT a.attisdropped
    ), ahead AS (
        SELECT m.parent, m.premake, m.granularity, count(b.lower_text) FILTER (
                   WHERE CASE WHEN m.with_zone THEN b.lower_text::timestamptz
                              ELSE b.lower_text::timestamp AT TIME ZONE m.time_zone END > now()) AS n
        FROM managed m
        LEFT JOIN pg_inherits i ON i.inhparent = m.parent
        LEFT JOIN LATERAL (SELECT substring(pg_get_expr(k.relpartbound, k.oid), $re$^FOR VALUES FROM \('([^']*)'\)$re$)
                                      AS lower_text
                           FROM pg_class k WHERE k.oid = i.inhrelid) b ON true
        GROUP BY m.parent, m.premake, m.granularity
    )
    SELECT 'partitions_ahead', a.parent::regclass::text,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN CASE WHEN a.n = 0 THEN 'critical' ELSE 'warning' END END,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN
               format('%s %s partition(s) made ahead (starting after now), fewer than %s: rows of the coming %ss go to the default partition (or fail without one)',
                      a.n, a.granularity, least(partitions_ahead, a.premake), a.granularity) END,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN
               format('SELECT * FROM zerocut.run_maintenance(%L::regclass);  -- then check zerocut.jobs (zerocut-partition-maintenance) and partition_health.last_outcome',
                      a.parent::regclass::text) END,
           'zerocut_partitions_ahead', jsonb_build_object('table', a.parent::regclass::text), a.n::double precision
    FROM ahead a
    UNION ALL
    SELECT 'default_partition_rows', m.parent::regclass::text,
           CASE WHEN d.live > 0 THEN 'warning' END,
           CASE WHEN d.live > 0 THEN
               format('about %s row(s) in the default partition %s (statistics): they block creating the partitions they belong to',
                      d.live, pt.partdefid::regclass) END,
           CASE WHEN d.live > 0 THEN
               format('SELECT * FROM zerocut.run_maintenance(%L::regclass);  -- moves them into their partitions',
                      m.parent::regclass::text) END,
           'zerocut_default_partition_rows', jsonb_build_object('table', m.parent::regclass::text),
           d.live::double precision
    FROM managed m
    JOIN pg_partitioned_table pt ON pt.partrelid = m.parent AND pt.partdefid <> 0
    CROSS JOIN LATERAL (SELECT pg_stat_get_live_tuples(pt.partdefid) AS live) d;

    -- 4. Archive policies: rows older than the policy's cutoff (CURRENT_DATE
    -- - keep, as archive() computes it) by more than a day are still in the
    -- source: the daily archive job has missed them.  Read as the caller
    -- (its rights, its row-level security), only where it may SELECT the
    -- time column (and use its schema), and skipped when the table is
    -- locked.  The table is found in the catalogs, not by name lookup, which
    -- fails on a schema the caller may not use.
    FOR policy IN SELECT c.oid AS relid, p.time_column, p.keep
                  FROM zerocut.archive_policy p
                  JOIN pg_namespace n ON n.nspname = p.source_schema
                  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.source_table
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = p.time_column AND a.attnum > 0
                                     AND NOT a.attisdropped
                  WHERE has_schema_privilege(n.oid, 'USAGE') AND has_column_privilege(c.oid, a.attnum, 'SELECT')
                  ORDER BY p.source_schema, p.source_table LOOP
        source := policy.relid;
        cutoff := current_date - policy.keep;
        BEGIN
            EXECUTE format('SELECT pg_catalog.min(%1$I)::pg_catalog.timestamptz FROM %2$s WHERE %1$I < $1',
                           policy.time_column, source)
                INTO oldest USING cutoff;
        EXCEPTION WHEN lock_not_available THEN
            CONTINUE;
        END;
        backlog := coalesce(greatest(extract(epoch FROM cutoff::timestamptz - oldest), 0), 0);
        kind := 'archive_backlog';
        object := source::text;
        severity := CASE WHEN backlog > 86400 THEN 'warning' END;
        problem := CASE WHEN backlog > 86400 THEN
            format('rows older than the archive policy''s %s are still in the table (the oldest from %s): the daily archive job has not moved them',
                   policy.keep, oldest) END;
        fix := CASE WHEN backlog > 86400 THEN
            format('CALL zerocut.archive_proc(%L::regclass);  -- then check zerocut.jobs (zerocut-archive)', source::text) END;
        metric := 'zerocut_archive_backlog_seconds';
        labels := jsonb_build_object('table', source::text);
        value := backlog;
        RETURN NEXT;
    END LOOP;

    -- 5. Shared-buffer hit ratio under the target, once the counters have
    -- seen cache_min_blocks block accesses (since the last statistics reset).
    RETURN QUERY
    SELECT 'cache_hit_ratio', r.kind,
           CASE WHEN r.alert THEN 'warning' END,
           CASE WHEN r.alert THEN
               format('%s cache hit ratio %s %% is under %s %% (%s block accesses since the statistics were reset)',
                      r.kind, round(r.hit_percent::numeric, 1), cache_hit_percent, r.blocks_hit + r.blocks_read) END,
           CASE WHEN r.alert THEN
               'Compare shared_buffers with SELECT * FROM zerocut.config_advice(); look for large sequential scans in zerocut.v_slow_queries; SELECT pg_stat_reset(); restarts the count after a change' END,
           r.name, jsonb_build_object('scope', r.kind), r.value
    FROM (SELECT c.kind, c.blocks_hit, c.blocks_read, c.hit_percent,
                 m.first AND c.blocks_hit + c.blocks_read >= cache_min_blocks AND c.hit_percent < cache_hit_percent AS alert,
                 m.name, m.value
          FROM zerocut.v_cache_hit_ratio c
          CROSS JOIN LATERAL (VALUES ('zerocut_cache_hit_percent', c.hit_percent, true),
                                     ('zerocut_cache_blocks_hit', c.blocks_hit::double precision, false),
                                     ('zerocut_cache_blocks_read', c.blocks_read::double precision, false))
              m(name, value, first)) r
    WHERE r.value IS NOT NULL;

    -- 6. Transactions open longer than long_transaction (every database;
    -- not this session's own); critical from four times the threshold.
    RETURN QUERY
    WITH t AS (SELECT * FROM zerocut.long_transactions(interval '0') l WHERE l.pid IS DISTINCT FROM pg_backend_pid())
    SELECT 'long_transaction', coalesce('pid ' || t.pid, 'prepared ' || quote_literal(t.gid)),
           CASE WHEN t.duration >= 4 * long_transaction THEN 'critical' ELSE 'warning' END,
           format('transaction open for %s by %s in database %s (%s%s), holding back VACUUM by %s transactions',
                  date_trunc('second', t.duration), coalesce(t.usename::text, '?'), coalesce(t.datname::text, '?'),
                  coalesce(t.state, 'state unknown'),
                  CASE WHEN t.wait_event_type IS NOT NULL THEN ', waiting for ' || t.wait_event_type || ' ' || t.wait_event ELSE '' END,
                  coalesce(t.xmin_age::text, '?')),
           CASE WHEN t.kind = 'prepared'
                THEN format('ROLLBACK PREPARED %L;  -- or COMMIT PREPARED, in database %I, if its work must stay', t.gid, t.datname)
                ELSE format('SELECT pg_terminate_backend(%s);  -- after finding out why (SELECT * FROM zerocut.v_long_transactions)', t.pid) END,
           NULL::text, NULL::jsonb, NULL::double precision
    FROM t WHERE t.duration > long_transaction
    UNION ALL
    SELECT 'long_transaction', NULL, NULL, NULL, NULL, 'zerocut_long_transactions', jsonb_build_object(),
           count(*) FILTER (WHERE t.duration > long_transaction)::double precision
    FROM t
    UNION ALL
    SELECT 'long_transaction', NULL, NULL, NULL, NULL, 'zerocut_oldest_transaction_seconds', jsonb_build_object(),
           coalesce(extract(epoch FROM max(t.duration)), 0)::double precision
    FROM t;

    -- 7. Replication lag over replication_lag: standbys of this server, and
    -- this server's own upstream when it is a standby.
    RETURN QUERY
    SELECT 'replication_lag', r.kind || ' ' || coalesce(r.name, ''),
           CASE WHEN r.alert THEN 'warning' END,
           CASE WHEN r.alert THEN
               format('%s %s replays %s s (%s bytes) behind', r.kind, coalesce(r.name, ''), round(r.lag_seconds::numeric),
                      r.lag_bytes) END,
           CASE WHEN r.alert THEN
               'Look at the standby''s load and its network (SELECT * FROM zerocut.v_replication_status), long queries on it (max_standby_streaming_delay) and its disk' END,
           r.name2, jsonb_build_object('kind', r.kind, 'name', coalesce(r.name, '')), r.value
    FROM (SELECT s.kind, s.name, s.lag_seconds, s.lag_bytes, m.name AS name2, m.value,
                 m.first AND s.kind <> 'slot' AND s.lag_seconds > extract(epoch FROM replication_lag) AS alert
          FROM zerocut.v_replication_status s
          CROSS JOIN LATERAL (VALUES ('zerocut_replication_lag_seconds', coalesce(s.lag_seconds, 0), true),
                                     ('zerocut_replication_lag_bytes', coalesce(s.lag_bytes, 0)::double precision, false))
              m(name, value, first)
          WHERE s.kind <> 'slot' OR NOT m.first) r;

    -- 8. Unused large indexes: no scan since the statistics were reset, at
    -- least unused_index_bytes (relpages: the size at the last VACUUM,
    -- ANALYZE or CREATE INDEX; no file is read), valid, and enforcing no
    -- constraint (unique, primary key, exclusion, replica identity).  The
    -- indexes of a partitioned table's partitions count as its one index.
    RETURN QUERY
    -- The size filter comes first: the scan counters (pg_stat_get_numscans,
    -- what pg_stat_user_indexes.idx_scan reads) are read only for the few
    -- large enough, so thousands of partition indexes cost little.
    WITH leaf AS (
        SELECT coalesce(h.inhparent, i.indexrelid) AS top, i.indexrelid, c.relpages,
               (i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident) AS enforces, i.indisvalid
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid AND c.relkind = 'i'
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    ), grouped AS (
        SELECT l.top, sum(l.relpages)::bigint * current_setting('block_size')::bigint AS bytes,
               array_agg(l.indexrelid) AS leaves
        FROM leaf l
        GROUP BY l.top
        HAVING NOT bool_or(l.enforces) AND bool_and(l.indisvalid)
           AND sum(l.relpages)::bigint * current_setting('block_size')::bigint >= unused_index_bytes
    )
    SELECT 'unused_index', g.top::regclass::text, 'warning',
           format('index on %s has not been scanned since the statistics were reset (%s) and takes about %s',
                  (SELECT x.indrelid::regclass FROM pg_index x WHERE x.indexrelid = g.top),
                  coalesce((SELECT d.stats_reset::text FROM pg_stat_database d WHERE d.datname = current_database()), 'never'),
                  pg_size_pretty(g.bytes)),
           format('DROP INDEX %s%s;  -- if no query needs it (keep its definition: SELECT pg_get_indexdef(%L::regclass))',
                  CASE WHEN (SELECT x.relkind FROM pg_class x WHERE x.oid = g.top) = 'i' THEN 'CONCURRENTLY ' ELSE '' END,
                  g.top::regclass, g.top::regclass::text),
           'zerocut_unused_index_bytes', jsonb_build_object('index', g.top::regclass::text), g.bytes::double precision
    FROM grouped g
    WHERE (SELECT sum(pg_stat_get_numscans(x)) FROM unnest(g.leaves) x) = 0;

    -- 9. The security linter's findings: high is critical, the rest warning.
    IF has_function_privilege('zerocut.check_security()', 'EXECUTE') THEN
        RETURN QUERY
        WITH f AS (SELECT * FROM zerocut.check_security())
        SELECT 'security', f.object, CASE f.severity WHEN 'high' THEN 'critical' ELSE 'warning' END,
               f.problem, f.fix, NULL::text, NULL::jsonb, NULL::double precision
        FROM f
        UNION ALL
        SELECT 'security', NULL, NULL, NULL, NULL, 'zerocut_security_findings', jsonb_build_object('severity', s.severity),
               (SELECT count(*) FROM f WHERE f.severity = s.severity)::double precision
        FROM (VALUES ('high'), ('medium'), ('low')) s(severity);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.monitor_facts(interval, interval, double precision, bigint, bigint, integer) IS
    'What alerts and metrics() read: one row per fact (kind, object; metric, labels, value: its number; severity, problem, fix: set when it needs a person) on zerocut''s jobs, partitions made ahead, default-partition rows, archive backlog, cache hit ratio, long transactions, replication lag, unused large indexes and security findings, with the thresholds given; runs as its caller (docs/monitoring.md); changes nothing';
REVOKE ALL ON FUNCTION zerocut.monitor_facts(interval, interval, double precision, bigint, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.monitor_facts(interval, interval, double precision, bigint, bigint, integer) TO pg_monitor;

-- The alerts with other thresholds (the view uses the defaults).
CREATE FUNCTION zerocut.find_alerts(long_transaction interval DEFAULT '15 minutes',
                                    replication_lag interval DEFAULT '60 seconds',
                                    cache_hit_percent double precision DEFAULT 85,
                                    cache_min_blocks bigint DEFAULT 100000,
                                    unused_index_bytes bigint DEFAULT 104857600,
                                    partitions_ahead integer DEFAULT 2)
    RETURNS TABLE(severity text, kind text, object text, problem text, fix text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT f.severity, f.kind, f.object, f.problem, f.fix
    FROM zerocut.monitor_facts(long_transaction, replication_lag, cache_hit_percent, cache_min_blocks,
                               unused_index_bytes, partitions_ahead) f
    WHERE f.severity IS NOT NULL
    ORDER BY CASE f.severity WHEN 'critical' THEN 1 ELSE 2 END, f.kind, f.object COLLATE "C", f.problem COLLATE "C"
$$;
COMMENT ON FUNCTION zerocut.find_alerts(interval, interval, double precision, bigint, bigint, integer) IS
    'The rows of zerocut.alerts with other thresholds: transactions open longer than long_transaction, replication lag over replication_lag, cache hit ratio under cache_hit_percent once cache_min_blocks block accesses are counted, unused indexes of at least unused_index_bytes, fewer than partitions_ahead partitions made ahead; NULL arguments 22004, out of range 22023; runs as its caller';
REVOKE ALL ON FUNCTION zerocut.find_alerts(interval, interval, double precision, bigint, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.find_alerts(interval, interval, double precision, bigint, bigint, integer) TO pg_monitor;

CREATE VIEW zerocut.alerts AS
    SELECT a.severity, a.kind, a.object, a.problem, a.fix FROM zerocut.find_alerts() a;
COMMENT ON VIEW zerocut.alerts IS
    'One row per problem that needs a person (severity critical or warning, kind, object, problem, fix): failed or overdue zerocut jobs, fewer than 2 partitions made ahead, rows in a default partition, archive backlog over a day past the policy, cache hit ratio under 85 % (after 100000 block accesses), transactions open over 15 minutes, replication lag over 60 s, unused indexes of 100 MB or more, check_security() findings (for callers who may execute check_security()); empty when healthy; critical first; pg_monitor members and superusers';
GRANT SELECT ON zerocut.alerts TO pg_monitor;

-- The numbers behind alerts, flat, for postgres_exporter or any poller
-- (docs/postgres_exporter_queries.yaml), plus the number of alerts.
CREATE FUNCTION zerocut.metrics()
    RETURNS TABLE(name text, labels jsonb, value double precision)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH f AS MATERIALIZED (SELECT * FROM zerocut.monitor_facts())
    SELECT f.metric, f.labels, f.value FROM f WHERE f.metric IS NOT NULL
    UNION ALL
    SELECT 'zerocut_alerts', jsonb_build_object('severity', s.severity),
           (SELECT count(*) FROM f WHERE f.severity = s.severity)::double precision
    FROM (VALUES ('critical'), ('warning')) s(severity)
    ORDER BY 1, 2
$$;
COMMENT ON FUNCTION zerocut.metrics() IS
    'The numbers behind zerocut.alerts as (name, labels, value) rows, for Prometheus'' postgres_exporter (docs/postgres_exporter_queries.yaml) or any poller: zerocut_alerts{severity}, zerocut_job_failed/overdue{job}, zerocut_partitions_ahead{table}, zerocut_default_partition_rows{table}, zerocut_archive_backlog_seconds{table}, zerocut_cache_hit_percent/blocks_hit/blocks_read{scope}, zerocut_long_transactions, zerocut_oldest_transaction_seconds, zerocut_replication_lag_seconds/bytes{kind,name}, zerocut_unused_index_bytes{index}, zerocut_security_findings{severity} (for callers who may execute check_security()); runs as its caller; pg_monitor members and superusers';
REVOKE ALL ON FUNCTION zerocut.metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.metrics() TO pg_monitor;

-- Growth of the managed monthly tables and when the data directory's file
-- system fills at that pace (src/monitor/capacity_forecast.cpp).
CREATE FUNCTION zerocut.capacity_forecast(months integer DEFAULT 12)
    RETURNS TABLE(tbl regclass, bytes_per_month bigint, projected_bytes bigint, months_until_full integer)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_capacity_forecast';
COMMENT ON FUNCTION zerocut.capacity_forecast(integer) IS
    'Per managed table partitioned by month: bytes_per_month (the mean total size of its last three complete monthly partitions), projected_bytes (its size now plus months of that growth) and months_until_full (whole months until the free space of the data directory''s file system is used up by the growth of all these tables together; NULL when that space cannot be read or nothing grows); months 1..1200, else 22023; runs as its caller';
REVOKE ALL ON FUNCTION zerocut.capacity_forecast(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.capacity_forecast(integer) TO pg_monitor;

-- issue 18: monitoring speed (zerocut.alerts and metrics() under 50 ms with
-- 4 000 partitions): check_security() in PL/pgSQL with cheaper joins,
-- v_cache_hit_ratio from the counters, monitor_facts() without opening
-- every partition (zerocut.partition_bounds(), new).  Same results.
-- Each partition's bounds as instants, parsed from the catalog instead of
-- deparsed with pg_get_expr (which opens and locks every partition): what
-- zerocut.alerts reads on every poll (src/partition/partition_bounds.cpp).
CREATE FUNCTION zerocut.partition_bounds(parent regclass, time_zone text DEFAULT 'UTC')
    RETURNS TABLE(partition regclass, is_default boolean, lower_at timestamptz, upper_at timestamptz)
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'zc_partition_bounds';
COMMENT ON FUNCTION zerocut.partition_bounds(regclass, text) IS
    'The direct partitions of a table partitioned by RANGE on one date, timestamp or timestamptz column, with is_default and their bounds as instants (date and timestamp bounds read as local times in time_zone; NULL for MINVALUE, MAXVALUE and the default partition), read from the catalog without locks; NULL arguments 22004, an unknown time zone 22023, not a partitioned table 42809, another partitioning 0A000, a dropped table no rows; runs as its caller, reads only catalogs; pg_monitor members and superusers';
REVOKE ALL ON FUNCTION zerocut.partition_bounds(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION zerocut.partition_bounds(regclass, text) TO pg_monitor;

CREATE OR REPLACE FUNCTION zerocut.check_security()
    RETURNS TABLE(severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    -- The planner's estimates for the recursive role walks are huge, so JIT
    -- would compile the query for ~0.4 s of an ~0.1 s run.
    SET jit = off
    AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH RECURSIVE
    -- The schemas the domain installer makes, and zerocut's own.
    managed_schema AS (
        SELECT n.oid, n.nspname
        FROM pg_namespace n
        WHERE n.nspname IN ('user_management', 'workspace_domain', 'financial_management', 'api_management',
                            'data_statistics', 'audit_log', 'archive', 'zerocut')
    ),
    -- Every tenant table and every partition of one (any level), with the
    -- kind of key its policies filter by and its owner.
    tenant_relation AS (
        SELECT t.relation AS root, t.tenant_key, tree.relid, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
               c.relowner
        FROM zerocut.tenant_tables() t
        -- pg_partition_tree() of a table that is not partitioned is empty
        CROSS JOIN LATERAL (SELECT t.relation AS relid
                            UNION SELECT pt.relid FROM pg_partition_tree(t.relation) pt) tree
        -- One index lookup per relation (OFFSET 0 keeps the subquery apart):
        -- the planner guesses 1000 rows per function and would rather hash
        -- all of pg_class (thousands of partitions) for a few dozen rows.
        CROSS JOIN LATERAL (SELECT k.relkind, k.relrowsecurity, k.relforcerowsecurity, k.relowner
                            FROM pg_class k WHERE k.oid = tree.relid AND k.relkind IN ('r', 'p') OFFSET 0) c
    ),
    -- Workspace-scoped tables (tenant key 'workspace_id') and their
    -- partitions, with the attribute number of workspace_id in each (a
    -- partition's may differ from its parent's).
    workspace_scoped AS (
        SELECT r.root, r.relid, a.attnum AS workspace_attnum
        FROM tenant_relation r
        JOIN pg_attribute a ON a.attrelid = r.relid AND a.attname = 'workspace_id' AND NOT a.attisdropped
        WHERE r.tenant_key = 'workspace_id'
    ),
    app_role AS (
        SELECT r.oid, r.rolname, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = 'application_user'
    ),
    -- Every role that is a member of application_user, directly or through
    -- other roles, with the role it was granted on the way ("via").  Not
    -- pg_has_role(): it says a superuser is a member of every role.
    app_member(member, via) AS (
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN app_role a ON m.roleid = a.oid
        UNION
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN app_member am ON m.roleid = am.member
    ),
    -- Every role that is a member of readonly_user, the same way.
    readonly_member(member, via) AS (
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN pg_roles r ON m.roleid = r.oid
        WHERE r.rolname = 'readonly_user'
        UNION
        SELECT m.member, m.roleid FROM pg_auth_members m JOIN readonly_member rm ON m.roleid = rm.member
    ),
    -- The roles the application's sessions may act as: application_user and
    -- its members (superusers are check 4's).
    app_subject AS (
        SELECT a.oid FROM app_role a WHERE NOT a.rolsuper
        UNION
        SELECT m.member FROM app_member m JOIN pg_roles r ON r.oid = m.member WHERE NOT r.rolsuper
    ),
    -- The owners of tenant tables and partitions, and every role that is a
    -- member of one (it can SET ROLE to the owner), with the role it was
    -- granted on the way.
    tenant_owner AS (
        SELECT DISTINCT r.relowner AS owner FROM tenant_relation r
    ),
    owner_member(owner, member, via) AS (
        SELECT o.owner, m.member, m.roleid FROM pg_auth_members m JOIN tenant_owner o ON m.roleid = o.owner
        UNION
        SELECT om.owner, m.member, m.roleid FROM pg_auth_members m JOIN owner_member om ON m.roleid = om.member
    ),
    -- Check 3's exceptions: zerocut functions PUBLIC may execute although
    -- they are VOLATILE or use keys, each with the reason (the same reasons
    -- as sql/zz_catalog.sql's list of what PUBLIC may execute).
    public_exception(signature, why) AS (
        VALUES ('zerocut.refresh_analytics_views()', 'refreshes only the views the caller owns (checked in the function)'),
               ('zerocut.set_app_user(integer)', 'only sets app.current_user_id, which the caller could SET itself'),
               ('zerocut.encrypt_sensitive_data(text,text)', 'seed-compatible pgcrypto wrapper: the caller supplies the key, no zerocut key is read'),
               ('zerocut.decrypt_sensitive_data(bytea,text)', 'seed-compatible pgcrypto wrapper: the caller supplies the key, no zerocut key is read')
    ),
    -- Check 2: a SECURITY DEFINER function's search_path entries (names
    -- unquoted, unquoted ones folded to lower case as PostgreSQL does).
    definer AS (
        SELECT p.oid, p.prokind,
               (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c
                WHERE c LIKE 'search\_path=%' LIMIT 1) AS path
        FROM pg_proc p
        JOIN managed_schema s ON s.oid = p.pronamespace
        WHERE p.prosecdef
    ),
    definer_path AS (
        SELECT d.oid, e.ord,
               CASE WHEN e.name LIKE '"%"' THEN replace(substr(e.name, 2, length(e.name) - 2), '""', '"')
                    ELSE lower(e.name) END AS schema
        FROM definer d
        CROSS JOIN LATERAL (SELECT btrim(x) AS name, ord FROM regexp_split_to_table(d.path, ',') WITH ORDINALITY AS s(x, ord)
                            WHERE btrim(x) <> '') e
    ),
    definer_problem AS (
        SELECT d.oid, d.prokind,
               CASE WHEN d.path IS NULL THEN 'no search_path is set'
                    ELSE concat_ws('; ',
                        (SELECT 'search_path names ' || string_agg(quote_ident(dp.schema), ', ' ORDER BY dp.ord)
                                || ', where other roles can create objects'
                         FROM definer_path dp
                         WHERE dp.oid = d.oid
                           AND (dp.schema IN ('public', '$user')
                                OR has_schema_privilege('public', (SELECT n.oid FROM pg_namespace n
                                                                   WHERE n.nspname = dp.schema), 'CREATE')
                                OR (to_regnamespace(quote_ident(dp.schema)) IS NULL AND dp.schema NOT IN ('pg_temp', 'pg_catalog')
                                    AND has_database_privilege('public', current_database(), 'CREATE')))),
                        (SELECT 'search_path does not end with pg_temp (the caller''s temporary tables would come first)'
                         WHERE coalesce((SELECT dp.schema FROM definer_path dp WHERE dp.oid = d.oid
                                         ORDER BY dp.ord DESC LIMIT 1), '') <> 'pg_temp'))
               END AS problem
        FROM definer d
    ),
    -- Check 3: the functions that read keys, whatever their volatility.
    key_function(name) AS (
        VALUES ('encrypt'), ('decrypt'), ('decrypt_bytea'), ('reencrypt'), ('blind_index'), ('create_key'),
               ('rotate_key'), ('grant_key'), ('revoke_key'), ('encrypt_sensitive_data'), ('decrypt_sensitive_data'),
               ('protect_column'), ('protect_column_trigger'), ('encrypt_column_batch'), ('encrypt_column_backfill')
    ),
    finding(severity, object, problem, fix) AS (
        -- Check 1 (high): a tenant table or a partition of one without
        -- row-level security, or with it but not FORCEd (its owner, who the
        -- application may log in as, would bypass every policy).
        SELECT 'high', r.relid::regclass::text,
               CASE WHEN r.relid = r.root THEN 'tenant table' ELSE format('partition of tenant table %s', r.root) END
               || CASE WHEN NOT r.relrowsecurity THEN ': row-level security is not enabled'
                       ELSE ': row-level security is enabled but not forced, so its owner bypasses it' END,
               'SELECT zerocut.enable_workspace_isolation();'
        FROM tenant_relation r
        WHERE NOT (r.relrowsecurity AND r.relforcerowsecurity)

        UNION ALL
        -- Check 2 (high): a SECURITY DEFINER function in a domain schema or
        -- zerocut whose search_path is not pinned to schemas only trusted
        -- roles can create objects in, ending with pg_temp.
        SELECT 'high', d.oid::regprocedure::text,
               'SECURITY DEFINER without a pinned search_path: ' || d.problem,
               format('ALTER %s %s SET search_path = pg_catalog, pg_temp;  -- then qualify every name in its body',
                      CASE d.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, d.oid::regprocedure)
        FROM definer_problem d
        WHERE d.problem <> ''

        UNION ALL
        -- Check 3 (high): a zerocut function PUBLIC may execute (no ACL yet,
        -- or an entry for grantee 0) that is VOLATILE (can change data;
        -- trigger and event-trigger functions cannot be called) or that uses
        -- keys, unless public_exception lists it.
        SELECT 'high', p.oid::regprocedure::text,
               CASE WHEN p.proname IN (SELECT name FROM key_function)
                    THEN 'PUBLIC may execute it and it uses zerocut''s encryption keys'
                    ELSE 'PUBLIC may execute it and it is VOLATILE (it can change data)' END,
               format('REVOKE EXECUTE ON %s %s FROM PUBLIC;',
                      CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, p.oid::regprocedure)
        FROM pg_proc p
        WHERE p.pronamespace = (SELECT oid FROM managed_schema WHERE nspname = 'zerocut')
          AND p.prokind IN ('f', 'p')
          AND (p.proacl IS NULL
               OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
          AND (p.proname IN (SELECT name FROM key_function)
               OR (p.provolatile = 'v' AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)))
          AND p.oid::regprocedure::text NOT IN (SELECT signature FROM public_exception)

        UNION ALL
        -- Check 4a (high): application_user itself with SUPERUSER or
        -- BYPASSRLS (LOGIN is fine: policies apply to it).
        SELECT 'high', quote_ident(a.rolname),
               format('the application role has %s: every application session bypasses row-level security',
                      concat_ws(' and ', CASE WHEN a.rolsuper THEN 'SUPERUSER' END,
                                         CASE WHEN a.rolbypassrls THEN 'BYPASSRLS' END)),
               format('ALTER ROLE %I%s%s;', a.rolname, CASE WHEN a.rolsuper THEN ' NOSUPERUSER' END,
                      CASE WHEN a.rolbypassrls THEN ' NOBYPASSRLS' END)
        FROM app_role a
        WHERE a.rolsuper OR a.rolbypassrls

        UNION ALL
        -- Check 4b (high): a LOGIN role with SUPERUSER or BYPASSRLS that is
        -- a member of application_user, directly or not: the application
        -- logging in as it bypasses row-level security.
        SELECT 'high', quote_ident(r.rolname),
               format('LOGIN role with %s is a member of %s: sessions of it bypass row-level security',
                      CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'BYPASSRLS' END, a.rolname),
               CASE WHEN r.rolsuper
                    THEN format('REVOKE %s FROM %I;  -- the application logs in as a role without SUPERUSER',
                                (SELECT string_agg(quote_ident(v.rolname), ', ' ORDER BY v.rolname)
                                 FROM app_member m JOIN pg_roles v ON v.oid = m.via WHERE m.member = r.oid),
                                r.rolname)
                    ELSE format('ALTER ROLE %I NOBYPASSRLS;', r.rolname) END
        FROM app_role a
        JOIN pg_roles r ON r.oid IN (SELECT member FROM app_member)
        WHERE r.rolcanlogin AND (r.rolsuper OR r.rolbypassrls)

        UNION ALL
        -- Check 5a (medium): a unique constraint or unique index, other than
        -- the primary key, on a workspace-scoped table or a partition of one,
        -- whose key does not include workspace_id: inserting a value another
        -- workspace holds fails, so a tenant can probe the others' values.
        -- Exempt: a key with a column whose name ends in _hash (a hash of a
        -- secret cannot be guessed without the secret; api_key.key_hash).
        -- Indexes attached to a parent's index are checked on the parent.
        SELECT 'medium',
               CASE WHEN con.oid IS NULL THEN i.indexrelid::regclass::text
                    ELSE format('constraint %I on %s', con.conname, w.relid::regclass) END,
               format('unique %s on %s (%s) does not include workspace_id: one workspace can probe another''s values through unique violations',
                      CASE WHEN con.oid IS NULL THEN 'index' ELSE 'constraint' END, w.relid::regclass,
                      (SELECT string_agg(pg_get_indexdef(i.indexrelid, k.n::integer, true), ', ' ORDER BY k.n)
                       FROM generate_series(1, i.indnkeyatts) AS k(n))),
               CASE WHEN con.oid IS NULL
                    THEN format('DROP INDEX %s; %s;', i.indexrelid::regclass,
                                regexp_replace(pg_get_indexdef(i.indexrelid), ' USING (\w+) \(', ' USING \1 (workspace_id, '))
                    ELSE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;', w.relid::regclass, con.conname,
                                con.conname, regexp_replace(pg_get_constraintdef(con.oid), '\(', '(workspace_id, ')) END
        FROM workspace_scoped w
        -- the table's indexes by an index lookup, not a scan of every index
        CROSS JOIN LATERAL (SELECT x.* FROM pg_index x
                            WHERE x.indrelid = w.relid AND x.indisunique AND NOT x.indisprimary OFFSET 0) i
        JOIN pg_class ic ON ic.oid = i.indexrelid AND NOT ic.relispartition
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = w.relid AND con.contype = 'u'
        WHERE NOT (w.workspace_attnum = ANY (i.indkey[0:i.indnkeyatts - 1]))
          AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = w.relid AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1])
                            AND a.attname LIKE '%\_hash')

        UNION ALL
        -- Check 5b (medium): a foreign key from one workspace-scoped table to
        -- another that does not pair workspace_id with workspace_id: a tenant
        -- could point a row at another workspace's row, or probe whether it
        -- exists.  (Keys to workspace or "USER" are not workspace-scoped.)
        SELECT 'medium', format('constraint %I on %s', con.conname, con.conrelid::regclass),
               format('foreign key from %s to %s does not match workspace_id to workspace_id: a row can reference another workspace''s row',
                      con.conrelid::regclass, con.confrelid::regclass),
               concat(
                   -- the referenced table needs a unique key with workspace_id first
                   (SELECT format('ALTER TABLE %s ADD UNIQUE (workspace_id, %s); ', con.confrelid::regclass,
                                  string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord))
                    FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                    HAVING NOT EXISTS (
                        SELECT 1 FROM pg_index ri
                        WHERE ri.indrelid = con.confrelid AND ri.indisunique AND ri.indpred IS NULL
                          AND ri.indnkeyatts = cardinality(con.confkey) + 1
                          AND (ri.indkey[0:ri.indnkeyatts - 1])::int2[] @> (con.confkey || wr.workspace_attnum)
                    )),
                   format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;', con.conrelid::regclass, con.conname,
                          con.conname,
                          -- workspace_id first on both sides; ON DELETE SET NULL/DEFAULT
                          -- limited to the old columns (workspace_id stays)
                          regexp_replace(
                              replace(regexp_replace(pg_get_constraintdef(con.oid), '^FOREIGN KEY \(', 'FOREIGN KEY (workspace_id, '),
                                      format('REFERENCES %s(', con.confrelid::regclass),
                                      format('REFERENCES %s(workspace_id, ', con.confrelid::regclass)),
                              'ON DELETE SET (NULL|DEFAULT)(?! \()',
                              format('ON DELETE SET \1 (%s)',
                                     (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                                      FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)))))
        FROM pg_constraint con
        JOIN workspace_scoped w ON w.relid = con.conrelid
        JOIN workspace_scoped wr ON wr.relid = con.confrelid
        WHERE con.contype = 'f' AND con.conparentid = 0
          AND NOT EXISTS (SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(attnum, refattnum)
                          WHERE k.attnum = w.workspace_attnum AND k.refattnum = wr.workspace_attnum)

        UNION ALL
        -- Check 6 (medium): app.current_user_id set for this database, for a
        -- role, or for a role in this database: every such session starts as
        -- that application user.
        SELECT 'medium',
               CASE WHEN s.setrole = 0 THEN format('database %I', db.datname)
                    WHEN s.setdatabase = 0 THEN quote_ident(r.rolname)
                    ELSE format('%s in database %I', quote_ident(r.rolname), db.datname) END,
               format('%s sets %s: every session starts as that application user',
                      CASE WHEN s.setrole = 0 THEN 'the database' ELSE 'the role' END, c.setting),
               CASE WHEN s.setrole = 0 THEN format('ALTER DATABASE %I RESET app.current_user_id;', db.datname)
                    WHEN s.setdatabase = 0 THEN format('ALTER ROLE %I RESET app.current_user_id;', r.rolname)
                    ELSE format('ALTER ROLE %I IN DATABASE %I RESET app.current_user_id;', r.rolname, db.datname) END
        FROM pg_db_role_setting s
        CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
        LEFT JOIN pg_database db ON db.oid = s.setdatabase
        LEFT JOIN pg_roles r ON r.oid = s.setrole
        WHERE c.setting LIKE 'app.current\_user\_id=%'
          AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))

        UNION ALL
        -- Check 7 (high): a view application_user may use that reads its
        -- tables with its owner's rights (not security_invoker), or a
        -- materialized view it may read (those cannot have row-level
        -- security): either shows rows of every workspace.
        SELECT 'high', c.oid::regclass::text,
               CASE c.relkind
                   WHEN 'v' THEN format('%s may use this view, which is not security_invoker: it reads its tables with its owner''s rights, past their policies', a.rolname)
                   ELSE format('%s may read this materialized view, which cannot have row-level security', a.rolname) END,
               CASE WHEN c.relkind = 'v' THEN format('ALTER VIEW %s SET (security_invoker = true);', c.oid::regclass)
                    WHEN has_table_privilege('public', c.oid, 'SELECT')
                    THEN format('REVOKE SELECT ON %s FROM PUBLIC;', c.oid::regclass)
                    ELSE format('REVOKE SELECT ON %s FROM %I;', c.oid::regclass, a.rolname) END
        FROM app_role a
        -- Views and materialized views found through their one _RETURN rule,
        -- each looked up by OID (OFFSET 0 keeps it a lookup): pg_rewrite is
        -- small, pg_class has a row per partition and index.
        CROSS JOIN pg_rewrite rw
        CROSS JOIN LATERAL (SELECT k.oid, k.relkind, k.relnamespace, k.reloptions FROM pg_class k
                            WHERE k.oid = rw.ev_class OFFSET 0) c
        JOIN managed_schema s ON s.oid = c.relnamespace
        WHERE rw.rulename = '_RETURN'
          AND ((c.relkind = 'v'
                AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o
                                WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1',
                                                   'security_invoker=yes'))
                AND (has_table_privilege(a.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                     OR has_any_column_privilege(a.oid, c.oid, 'SELECT, INSERT, UPDATE')))
               OR (c.relkind = 'm' AND has_any_column_privilege(a.oid, c.oid, 'SELECT')))

        UNION ALL
        -- Check 8 (high): a permissive policy other than zerocut's on a
        -- tenant table or partition that applies to the application's
        -- roles: permissive policies are ORed, so every row it lets
        -- through is visible (or writable) whatever the workspace.
        SELECT 'high', format('policy %I on %s', p.polname, p.polrelid::regclass),
               format('permissive policy for %s is ORed with zerocut''s isolation policy: the rows it allows are open to the application in every workspace',
                      CASE WHEN 0 = ANY (p.polroles) THEN 'PUBLIC'
                           ELSE (SELECT string_agg(quote_ident(r.rolname), ', ' ORDER BY r.rolname)
                                 FROM pg_roles r WHERE r.oid = ANY (p.polroles)) END),
               format('DROP POLICY %I ON %s;  -- or create it AS RESTRICTIVE, or for roles the application does not use',
                      p.polname, p.polrelid::regclass)
        FROM pg_policy p
        JOIN tenant_relation r ON r.relid = p.polrelid
        WHERE p.polpermissive AND EXISTS (SELECT 1 FROM app_role)
          AND p.polname NOT IN ('zerocut_isolation', 'zerocut_isolation_members', 'zerocut_readonly')
          AND (0 = ANY (p.polroles)
               OR EXISTS (SELECT 1 FROM app_subject s, unnest(p.polroles) AS pr(role)
                          WHERE pg_has_role(s.oid, pr.role, 'MEMBER')))

        UNION ALL
        -- Check 9 (high): a role of the application that is also a member
        -- of readonly_user: readonly_user's policies (USING (true)) are ORed
        -- with the application's, so its sessions read every workspace.
        SELECT 'high', quote_ident(r.rolname),
               format('member of %s and of readonly_user: readonly_user''s policies let its sessions read every workspace',
                      CASE WHEN r.rolname = 'application_user' THEN 'the application role' ELSE 'application_user' END),
               format('REVOKE %s FROM %I;',
                      (SELECT string_agg(DISTINCT quote_ident(v.rolname), ', ')
                       FROM readonly_member m JOIN pg_roles v ON v.oid = m.via WHERE m.member = r.oid),
                      r.rolname)
        FROM app_subject s
        JOIN pg_roles r ON r.oid = s.oid
        WHERE s.oid IN (SELECT member FROM readonly_member)

        UNION ALL
        -- Check 10 (high): a role of the application that owns a tenant
        -- table or can SET ROLE to its owner: the owner may turn the table's
        -- row-level security off (ALTER TABLE ... NO FORCE / DISABLE).
        SELECT 'high', quote_ident(r.rolname),
               CASE WHEN r.oid = o.owner
                    THEN format('%s owns tenant tables: it can turn their row-level security off',
                                CASE WHEN r.rolname = 'application_user' THEN 'the application role'
                                     ELSE 'a member of application_user' END)
                    ELSE format('member of application_user and of %I, which owns tenant tables: it can SET ROLE %I and turn their row-level security off',
                                (SELECT rolname FROM pg_roles WHERE oid = o.owner),
                                (SELECT rolname FROM pg_roles WHERE oid = o.owner)) END,
               CASE WHEN r.oid <> o.owner
                    THEN format('REVOKE %s FROM %I;',
                                (SELECT string_agg(DISTINCT quote_ident(v.rolname), ', ')
                                 FROM owner_member m JOIN pg_roles v ON v.oid = m.via
                                 WHERE m.owner = o.owner AND m.member = r.oid),
                                r.rolname)
                    WHEN r.rolname = 'application_user'
                    THEN format('REASSIGN OWNED BY %I TO %s;', r.rolname,
                                (SELECT e.extowner::regrole::text FROM pg_extension e WHERE e.extname = 'zerocut'))
                    ELSE format('REVOKE %s FROM %I;',
                                (SELECT string_agg(DISTINCT quote_ident(v.rolname), ', ')
                                 FROM app_member m JOIN pg_roles v ON v.oid = m.via WHERE m.member = r.oid),
                                r.rolname) END
        FROM app_subject s
        JOIN pg_roles r ON r.oid = s.oid
        JOIN tenant_owner o ON o.owner = r.oid
                            OR EXISTS (SELECT 1 FROM owner_member m WHERE m.owner = o.owner AND m.member = r.oid)

        UNION ALL
        -- Check 11 (high, PostgreSQL 15 and older): a role of the
        -- application with CREATEROLE: before 16 it may grant itself any
        -- non-superuser role, the tables' owners included.
        SELECT 'high', quote_ident(r.rolname),
               'has CREATEROLE and acts for the application: before PostgreSQL 16 it can grant itself the tables'' owner and turn row-level security off',
               format('ALTER ROLE %I NOCREATEROLE;', r.rolname)
        FROM app_subject s
        JOIN pg_roles r ON r.oid = s.oid
        WHERE r.rolcreaterole AND current_setting('server_version_num')::integer < 160000
    )
    SELECT f.severity, f.object, f.problem, f.fix
    FROM finding f
    ORDER BY CASE f.severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, f.object COLLATE "C", f.problem COLLATE "C";
END
$$;

CREATE OR REPLACE VIEW zerocut.v_cache_hit_ratio AS
    -- What pg_statio_user_tables and pg_statio_user_indexes sum, read from
    -- the same counters in one pass over pg_class, without those views'
    -- per-table work (each table's indexes summed, joins per row), with two
    -- counter reads per relation (read = fetched - hit, summed once): a
    -- third of the time with 4 000 partitions.  An index lives in its
    -- table's schema, and the user tables' indexes are exactly the user
    -- schemas' relkind 'i'.  A table without TOAST reads no TOAST counters.
    WITH counts AS (
        SELECT coalesce(sum(pg_catalog.pg_stat_get_blocks_hit(c.oid)
                            + CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_stat_get_blocks_hit(c.reltoastrelid) ELSE 0 END)
                            FILTER (WHERE c.relkind <> 'i'), 0)::bigint AS table_hit,
               coalesce(sum(pg_catalog.pg_stat_get_blocks_fetched(c.oid)
                            + CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_stat_get_blocks_fetched(c.reltoastrelid) ELSE 0 END)
                            FILTER (WHERE c.relkind <> 'i'), 0)::bigint AS table_fetched,
               coalesce(sum(pg_catalog.pg_stat_get_blocks_hit(c.oid)) FILTER (WHERE c.relkind = 'i'), 0)::bigint AS index_hit,
               coalesce(sum(pg_catalog.pg_stat_get_blocks_fetched(c.oid)) FILTER (WHERE c.relkind = 'i'), 0)::bigint
                   AS index_fetched
        FROM pg_catalog.pg_class c
        WHERE c.relkind IN ('r', 't', 'm', 'i')
          AND c.relnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n
                                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast')
    )
    SELECT b.kind, b.blocks_hit, b.blocks_read,
           (100.0 * b.blocks_hit / nullif(b.blocks_hit + b.blocks_read, 0))::double precision AS hit_percent,
           85::double precision AS target_percent,
           100.0 * b.blocks_hit / nullif(b.blocks_hit + b.blocks_read, 0) >= 85 AS meets_target
    FROM (
        SELECT 'database'::text AS kind, 1 AS ord, d.blks_hit AS blocks_hit, d.blks_read AS blocks_read
        FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database()
        UNION ALL
        SELECT 'tables', 2, k.table_hit, k.table_fetched - k.table_hit FROM counts k
        UNION ALL
        SELECT 'indexes', 3, k.index_hit, k.index_fetched - k.index_hit FROM counts k
    ) b
    ORDER BY b.ord;

CREATE OR REPLACE FUNCTION zerocut.monitor_facts(long_transaction interval DEFAULT '15 minutes',
                                      replication_lag interval DEFAULT '60 seconds',
                                      cache_hit_percent double precision DEFAULT 85,
                                      cache_min_blocks bigint DEFAULT 100000,
                                      unused_index_bytes bigint DEFAULT 104857600,
                                      partitions_ahead integer DEFAULT 2)
    RETURNS TABLE(kind text, object text, severity text, problem text, fix text, metric text, labels jsonb,
                  value double precision)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    -- A monitoring read never queues behind a lock (the archive backlog's
    -- query is the only one that takes a table lock): it skips instead.
    SET lock_timeout = '100ms'
    SET jit = off
    -- Each counter is read once per call, so the statistics snapshot cache
    -- (stats_fetch_consistency = cache: an entry copied per relation) only
    -- costs: reading thousands of partitions' counters directly is a third
    -- faster.
    SET stats_fetch_consistency = none
    AS $$
#variable_conflict use_column
DECLARE
    policy record;
    source regclass;
    cutoff timestamp;
    oldest timestamptz;
    backlog double precision;
BEGIN
    IF long_transaction IS NULL OR replication_lag IS NULL OR cache_hit_percent IS NULL OR cache_min_blocks IS NULL
       OR unused_index_bytes IS NULL OR partitions_ahead IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('argument "%s" must not be NULL',
                             CASE WHEN long_transaction IS NULL THEN 'long_transaction'
                                  WHEN replication_lag IS NULL THEN 'replication_lag'
                                  WHEN cache_hit_percent IS NULL THEN 'cache_hit_percent'
                                  WHEN cache_min_blocks IS NULL THEN 'cache_min_blocks'
                                  WHEN unused_index_bytes IS NULL THEN 'unused_index_bytes'
                                  ELSE 'partitions_ahead' END);
    END IF;
    IF long_transaction < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "long_transaction" must not be negative';
    ELSIF replication_lag < interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "replication_lag" must not be negative';
    ELSIF cache_hit_percent = 'NaN'::double precision OR cache_hit_percent < 0 OR cache_hit_percent > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "cache_hit_percent" must be between 0 and 100 (%s given)', cache_hit_percent);
    ELSIF cache_min_blocks < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "cache_min_blocks" must not be negative';
    ELSIF unused_index_bytes < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'argument "unused_index_bytes" must not be negative';
    ELSIF partitions_ahead < 0 OR partitions_ahead > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('argument "partitions_ahead" must be between 0 and 1000 (%s given)', partitions_ahead);
    END IF;

    -- 1. zerocut's pg_cron jobs (none without pg_cron): the last run failed
    -- (critical) or no success within two intervals (warning).
    IF has_function_privilege('zerocut.job_status()', 'EXECUTE') THEN
        RETURN QUERY
        SELECT 'job', j.jobname,
               CASE WHEN j.problem = m.problem THEN CASE m.problem WHEN 'failed' THEN 'critical' ELSE 'warning' END END,
               CASE WHEN j.problem = m.problem THEN
                   CASE m.problem
                       WHEN 'failed' THEN format('pg_cron job %s failed (last run started %s): %s', j.jobname,
                                                 j.last_start, coalesce(j.last_error, 'no message'))
                       ELSE format('pg_cron job %s has not succeeded for over two intervals (%s) since %s',
                                   j.jobname, 2 * j.run_interval, coalesce(j.last_success::text, 'it was scheduled'))
                   END END,
               CASE WHEN j.problem = m.problem THEN
                   CASE m.problem
                       WHEN 'failed' THEN format('Read the error (SELECT last_error FROM zerocut.jobs WHERE jobname = %L), fix its cause and run the command once by hand: %s', j.jobname, j.command)
                       ELSE 'Check that pg_cron runs (the server log, SELECT * FROM cron.job_run_details ORDER BY start_time DESC LIMIT 20) and that the job is not stuck (zerocut.v_long_transactions)'
                   END END,
               'zerocut_job_' || m.problem, jsonb_build_object('job', j.jobname),
               (j.problem IS NOT DISTINCT FROM m.problem)::integer::double precision
        FROM zerocut.job_status() j
        CROSS JOIN (VALUES ('failed'), ('overdue')) m(problem)
        WHERE j.state = 'scheduled';
    END IF;

    -- 2. and 3. Managed partitioned tables (the partition registry): fewer
    -- partitions made ahead than wanted (the smaller of partitions_ahead and
    -- the table's premake; none: critical), and rows in the default
    -- partition (live tuples of the statistics: no lock, no read of the
    -- table).  Bounds come from zerocut.partition_bounds(), which parses
    -- the catalog's bound: pg_get_expr() would open and lock every
    -- partition and print text to parse back (4 000 partitions: ~60 ms).
    RETURN QUERY
    WITH managed AS (
        -- readable: RANGE on the control column alone, of type date, timestamp
        -- or timestamptz: the only shape
        -- partition_bounds() reads (it raises for any other); a registry row
        -- whose table is not (edited by hand) counts no partition ahead and
        -- so alerts, instead of failing the whole view.
        SELECT c.parent::oid AS parent, c.premake, c.time_zone, c.granularity,
               (pt.partstrat = 'r' AND pt.partnatts = 1 AND pt.partattrs[0] = a.attnum
                AND a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)) IS TRUE AS readable
        FROM zerocut.partition_config c
        JOIN pg_class p ON p.oid = c.parent AND p.relkind = 'p'
        JOIN pg_attribute a ON a.attrelid = c.parent AND a.attname = c.control_column AND NOT a.attisdropped
        LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.parent
    ), ahead AS (
        SELECT m.parent, m.premake, m.granularity, count(*) FILTER (WHERE b.lower_at > now()) AS n
        FROM managed m
        -- OFFSET 0 keeps the subquery, so its WHERE gates the call.
        LEFT JOIN LATERAL (SELECT * FROM zerocut.partition_bounds(m.parent::regclass, m.time_zone)
                           WHERE m.readable OFFSET 0) b ON true
        GROUP BY m.parent, m.premake, m.granularity
    )
    SELECT 'partitions_ahead', a.parent::regclass::text,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN CASE WHEN a.n = 0 THEN 'critical' ELSE 'warning' END END,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN
               format('%s %s partition(s) made ahead (starting after now), fewer than %s: rows of the coming %ss go to the default partition (or fail without one)',
                      a.n, a.granularity, least(partitions_ahead, a.premake), a.granularity) END,
           CASE WHEN a.n < least(partitions_ahead, a.premake) THEN
               format('SELECT * FROM zerocut.run_maintenance(%L::regclass);  -- then check zerocut.jobs (zerocut-partition-maintenance) and partition_health.last_outcome',
                      a.parent::regclass::text) END,
           'zerocut_partitions_ahead', jsonb_build_object('table', a.parent::regclass::text), a.n::double precision
    FROM ahead a
    UNION ALL
    SELECT 'default_partition_rows', m.parent::regclass::text,
           CASE WHEN d.live > 0 THEN 'warning' END,
           CASE WHEN d.live > 0 THEN
               format('about %s row(s) in the default partition %s (statistics): they block creating the partitions they belong to',
                      d.live, pt.partdefid::regclass) END,
           CASE WHEN d.live > 0 THEN
               format('SELECT * FROM zerocut.run_maintenance(%L::regclass);  -- moves them into their partitions',
                      m.parent::regclass::text) END,
           'zerocut_default_partition_rows', jsonb_build_object('table', m.parent::regclass::text),
           d.live::double precision
    FROM managed m
    JOIN pg_partitioned_table pt ON pt.partrelid = m.parent AND pt.partdefid <> 0
    CROSS JOIN LATERAL (SELECT pg_stat_get_live_tuples(pt.partdefid) AS live) d;

    -- 4. Archive policies: rows older than the policy's cutoff (CURRENT_DATE
    -- - keep, as archive() computes it) by more than a day are still in the
    -- source: the daily archive job has missed them.  Read as the caller
    -- (its rights, its row-level security), only where it may SELECT the
    -- time column (and use its schema), and skipped when the table is
    -- locked.  The table is found in the catalogs, not by name lookup, which
    -- fails on a schema the caller may not use.
    FOR policy IN SELECT c.oid AS relid, p.time_column, p.keep
                  FROM zerocut.archive_policy p
                  JOIN pg_namespace n ON n.nspname = p.source_schema
                  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.source_table
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = p.time_column AND a.attnum > 0
                                     AND NOT a.attisdropped
                  WHERE has_schema_privilege(n.oid, 'USAGE') AND has_column_privilege(c.oid, a.attnum, 'SELECT')
                  ORDER BY p.source_schema, p.source_table LOOP
        source := policy.relid;
        cutoff := current_date - policy.keep;
        BEGIN
            EXECUTE format('SELECT pg_catalog.min(%1$I)::pg_catalog.timestamptz FROM %2$s WHERE %1$I < $1',
                           policy.time_column, source)
                INTO oldest USING cutoff;
        EXCEPTION WHEN lock_not_available THEN
            CONTINUE;
        END;
        backlog := coalesce(greatest(extract(epoch FROM cutoff::timestamptz - oldest), 0), 0);
        kind := 'archive_backlog';
        object := source::text;
        severity := CASE WHEN backlog > 86400 THEN 'warning' END;
        problem := CASE WHEN backlog > 86400 THEN
            format('rows older than the archive policy''s %s are still in the table (the oldest from %s): the daily archive job has not moved them',
                   policy.keep, oldest) END;
        fix := CASE WHEN backlog > 86400 THEN
            format('CALL zerocut.archive_proc(%L::regclass);  -- then check zerocut.jobs (zerocut-archive)', source::text) END;
        metric := 'zerocut_archive_backlog_seconds';
        labels := jsonb_build_object('table', source::text);
        value := backlog;
        RETURN NEXT;
    END LOOP;

    -- 5. Shared-buffer hit ratio under the target, once the counters have
    -- seen cache_min_blocks block accesses (since the last statistics reset).
    RETURN QUERY
    SELECT 'cache_hit_ratio', r.kind,
           CASE WHEN r.alert THEN 'warning' END,
           CASE WHEN r.alert THEN
               format('%s cache hit ratio %s %% is under %s %% (%s block accesses since the statistics were reset)',
                      r.kind, round(r.hit_percent::numeric, 1), cache_hit_percent, r.blocks_hit + r.blocks_read) END,
           CASE WHEN r.alert THEN
               'Compare shared_buffers with SELECT * FROM zerocut.config_advice(); look for large sequential scans in zerocut.v_slow_queries; SELECT pg_stat_reset(); restarts the count after a change' END,
           r.name, jsonb_build_object('scope', r.kind), r.value
    FROM (SELECT c.kind, c.blocks_hit, c.blocks_read, c.hit_percent,
                 m.first AND c.blocks_hit + c.blocks_read >= cache_min_blocks AND c.hit_percent < cache_hit_percent AS alert,
                 m.name, m.value
          FROM zerocut.v_cache_hit_ratio c
          CROSS JOIN LATERAL (VALUES ('zerocut_cache_hit_percent', c.hit_percent, true),
                                     ('zerocut_cache_blocks_hit', c.blocks_hit::double precision, false),
                                     ('zerocut_cache_blocks_read', c.blocks_read::double precision, false))
              m(name, value, first)) r
    WHERE r.value IS NOT NULL;

    -- 6. Transactions open longer than long_transaction (every database;
    -- not this session's own); critical from four times the threshold.
    RETURN QUERY
    WITH t AS (SELECT * FROM zerocut.long_transactions(interval '0') l WHERE l.pid IS DISTINCT FROM pg_backend_pid())
    SELECT 'long_transaction', coalesce('pid ' || t.pid, 'prepared ' || quote_literal(t.gid)),
           CASE WHEN t.duration >= 4 * long_transaction THEN 'critical' ELSE 'warning' END,
           format('transaction open for %s by %s in database %s (%s%s), holding back VACUUM by %s transactions',
                  date_trunc('second', t.duration), coalesce(t.usename::text, '?'), coalesce(t.datname::text, '?'),
                  coalesce(t.state, 'state unknown'),
                  CASE WHEN t.wait_event_type IS NOT NULL THEN ', waiting for ' || t.wait_event_type || ' ' || t.wait_event ELSE '' END,
                  coalesce(t.xmin_age::text, '?')),
           CASE WHEN t.kind = 'prepared'
                THEN format('ROLLBACK PREPARED %L;  -- or COMMIT PREPARED, in database %I, if its work must stay', t.gid, t.datname)
                ELSE format('SELECT pg_terminate_backend(%s);  -- after finding out why (SELECT * FROM zerocut.v_long_transactions)', t.pid) END,
           NULL::text, NULL::jsonb, NULL::double precision
    FROM t WHERE t.duration > long_transaction
    UNION ALL
    SELECT 'long_transaction', NULL, NULL, NULL, NULL, 'zerocut_long_transactions', jsonb_build_object(),
           count(*) FILTER (WHERE t.duration > long_transaction)::double precision
    FROM t
    UNION ALL
    SELECT 'long_transaction', NULL, NULL, NULL, NULL, 'zerocut_oldest_transaction_seconds', jsonb_build_object(),
           coalesce(extract(epoch FROM max(t.duration)), 0)::double precision
    FROM t;

    -- 7. Replication lag over replication_lag: standbys of this server, and
    -- this server's own upstream when it is a standby.
    RETURN QUERY
    SELECT 'replication_lag', r.kind || ' ' || coalesce(r.name, ''),
           CASE WHEN r.alert THEN 'warning' END,
           CASE WHEN r.alert THEN
               format('%s %s replays %s s (%s bytes) behind', r.kind, coalesce(r.name, ''), round(r.lag_seconds::numeric),
                      r.lag_bytes) END,
           CASE WHEN r.alert THEN
               'Look at the standby''s load and its network (SELECT * FROM zerocut.v_replication_status), long queries on it (max_standby_streaming_delay) and its disk' END,
           r.name2, jsonb_build_object('kind', r.kind, 'name', coalesce(r.name, '')), r.value
    FROM (SELECT s.kind, s.name, s.lag_seconds, s.lag_bytes, m.name AS name2, m.value,
                 m.first AND s.kind <> 'slot' AND s.lag_seconds > extract(epoch FROM replication_lag) AS alert
          FROM zerocut.v_replication_status s
          CROSS JOIN LATERAL (VALUES ('zerocut_replication_lag_seconds', coalesce(s.lag_seconds, 0), true),
                                     ('zerocut_replication_lag_bytes', coalesce(s.lag_bytes, 0)::double precision, false))
              m(name, value, first)
          WHERE s.kind <> 'slot' OR NOT m.first) r;

    -- 8. Unused large indexes: no scan since the statistics were reset, at
    -- least unused_index_bytes (relpages: the size at the last VACUUM,
    -- ANALYZE or CREATE INDEX; no file is read), valid, and enforcing no
    -- constraint (unique, primary key, exclusion, replica identity).  The
    -- indexes of a partitioned table's partitions count as its one index.
    RETURN QUERY
    -- The size filter comes first: the scan counters (pg_stat_get_numscans,
    -- what pg_stat_user_indexes.idx_scan reads) are read only for the few
    -- large enough, so thousands of partition indexes cost little.
    WITH leaf AS (
        SELECT coalesce(h.inhparent, i.indexrelid) AS top, i.indexrelid, c.relpages,
               (i.indisunique OR i.indisprimary OR i.indisexclusion OR i.indisreplident) AS enforces, i.indisvalid
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid AND c.relkind = 'i'
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    ), grouped AS (
        SELECT l.top, sum(l.relpages)::bigint * current_setting('block_size')::bigint AS bytes,
               array_agg(l.indexrelid) AS leaves
        FROM leaf l
        GROUP BY l.top
        HAVING NOT bool_or(l.enforces) AND bool_and(l.indisvalid)
           AND sum(l.relpages)::bigint * current_setting('block_size')::bigint >= unused_index_bytes
    )
    SELECT 'unused_index', g.top::regclass::text, 'warning',
           format('index on %s has not been scanned since the statistics were reset (%s) and takes about %s',
                  (SELECT x.indrelid::regclass FROM pg_index x WHERE x.indexrelid = g.top),
                  coalesce((SELECT d.stats_reset::text FROM pg_stat_database d WHERE d.datname = current_database()), 'never'),
                  pg_size_pretty(g.bytes)),
           format('DROP INDEX %s%s;  -- if no query needs it (keep its definition: SELECT pg_get_indexdef(%L::regclass))',
                  CASE WHEN (SELECT x.relkind FROM pg_class x WHERE x.oid = g.top) = 'i' THEN 'CONCURRENTLY ' ELSE '' END,
                  g.top::regclass, g.top::regclass::text),
           'zerocut_unused_index_bytes', jsonb_build_object('index', g.top::regclass::text), g.bytes::double precision
    FROM grouped g
    WHERE (SELECT sum(pg_stat_get_numscans(x)) FROM unnest(g.leaves) x) = 0;

    -- 9. The security linter's findings: high is critical, the rest warning.
    IF has_function_privilege('zerocut.check_security()', 'EXECUTE') THEN
        RETURN QUERY
        WITH f AS (SELECT * FROM zerocut.check_security())
        SELECT 'security', f.object, CASE f.severity WHEN 'high' THEN 'critical' ELSE 'warning' END,
               f.problem, f.fix, NULL::text, NULL::jsonb, NULL::double precision
        FROM f
        UNION ALL
        SELECT 'security', NULL, NULL, NULL, NULL, 'zerocut_security_findings', jsonb_build_object('severity', s.severity),
               (SELECT count(*) FROM f WHERE f.severity = s.severity)::double precision
        FROM (VALUES ('high'), ('medium'), ('low')) s(severity);
    END IF;
END
$$;
