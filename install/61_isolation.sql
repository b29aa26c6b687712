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
-- to its whole tree.
CREATE FUNCTION zerocut.tenant_tables()
    RETURNS TABLE(relation regclass, tenant_key text)
    LANGUAGE sql STABLE PARALLEL SAFE
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
