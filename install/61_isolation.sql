-- This part: tenant isolation (issue 17) -- which tables hold a tenant's
-- rows, the memberships the policies filter by, the application and
-- read-only roles, and row-level security on every tenant table.
-- docs/isolation.md has the design.

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
