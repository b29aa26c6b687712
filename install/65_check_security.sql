-- This part: the security linter (issue 17) -- catalog queries that find
-- what would let one tenant read or change another's rows, or let a role
-- escape the isolation.  docs/check_security.md has each check, why, its fix
-- and its exceptions.

-- One row per finding, ordered by severity (high, medium, low), then object.
-- Each check is one UNION ALL branch of the final SELECT, commented with its
-- number; checks 4, 7 and 8-11 need the role application_user and return
-- nothing without it.  SECURITY INVOKER: it reads only catalogs and
-- zerocut.tenant_tables(), as its caller.  PL/pgSQL, not SQL, for its plan:
-- PL/pgSQL keeps it for the session, while a SQL function's query is
-- planned again on every call (~10 ms of the ~25 ms of a call with 4 000
-- partitions; zerocut.alerts runs it on every poll).
CREATE FUNCTION zerocut.check_security()
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
COMMENT ON FUNCTION zerocut.check_security() IS
    'Security linter for tenant isolation: one row per finding (severity, object, problem, fix as SQL), high before medium before low, then by object; empty on a clean install with isolation enabled. For the DBA: EXECUTE is revoked from PUBLIC, so the application''s roles cannot list the weak spots; a superuser runs it, or grants EXECUTE to an auditing role (it reads only catalogs, as its caller). docs/check_security.md';
-- Not PUBLIC's: a ready-made list of what to exploit (see the COMMENT).
REVOKE ALL ON FUNCTION zerocut.check_security() FROM PUBLIC;
