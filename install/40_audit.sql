
-- ---------------------------------------------------------------- audit --
-- The C++ audit trigger (issue 7): complete change history in
-- audit_log.system_log with redaction, delta rows, a statement mode and an
-- append-only log.  docs/audit.md.

-- One row per audited table, found by `relation` (an OID, which follows
-- ALTER TABLE … RENAME / SET SCHEMA and ALTER SCHEMA … RENAME; dumped as a
-- qualified name, which pg_restore resolves to the new OID).  schema_name
-- and table_name are the table's current names, kept by enable_audit() and
-- the event trigger zerocut_audit_config_follow.  `relation` comes last:
-- the 0.1.0 upgrade adds it to the existing table (docs/audit.md, "Renames").
CREATE TABLE zerocut.audit_config (
    schema_name     name NOT NULL,
    table_name      name NOT NULL,
    mode            text NOT NULL DEFAULT 'row' CHECK (mode IN ('row', 'statement')),
    exclude_columns text[] NOT NULL DEFAULT '{}',
    changed_only    boolean NOT NULL DEFAULT true,
    enabled_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    enabled_by      name NOT NULL DEFAULT CURRENT_USER,
    relation        regclass NOT NULL,
    PRIMARY KEY (relation)
);
COMMENT ON TABLE zerocut.audit_config IS
    'Audited tables and their settings, written by enable_audit()/disable_audit(); the triggers carry the same settings as arguments; a row follows its table through renames and goes with it when it is dropped. Kept by pg_dump';
COMMENT ON COLUMN zerocut.audit_config.relation IS
    'The audited table (its OID: the audit trigger logs only for a table recorded here); schema_name and table_name are its current names';
SELECT pg_catalog.pg_extension_config_dump('zerocut.audit_config', '');
-- Not readable by PUBLIC: it lists which tables are audited and which
-- columns are left out (docs/audit.md, "Privileges").
REVOKE ALL ON zerocut.audit_config FROM PUBLIC;

CREATE FUNCTION zerocut.audit_trigger_function() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_audit_trigger_function';
COMMENT ON FUNCTION zerocut.audit_trigger_function() IS
    'AFTER trigger (row mode, statement mode with transition tables, or TRUNCATE) created by enable_audit(): writes each change of a table recorded in zerocut.audit_config to audit_log.system_log as {operation, schema, table, relid, pk, old_data, new_data, xid, session_user, current_user, application_name}, with redaction and changed-column deltas; user_id from app.current_user_id; refuses (42501) a table enable_audit() did not record';
-- Whoever may put it on a table of theirs could write audit rows.
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM PUBLIC;

CREATE FUNCTION zerocut.enable_audit(tbl regclass, exclude_columns text[] DEFAULT NULL, mode text DEFAULT 'row',
                                     changed_only boolean DEFAULT true) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_enable_audit';
COMMENT ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean) IS
    'Audits a table its caller owns (one trigger set on a partitioned parent; never zerocut''s own tables): mode row or statement, excluded columns never logged in clear, changed_only stores the primary key and changed columns; idempotent; settings in zerocut.audit_config; needs the log install_domain_schema() made (refuses a missing, foreign-owned or reshaped one)';
REVOKE ALL ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.disable_audit(tbl regclass) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_disable_audit';
COMMENT ON FUNCTION zerocut.disable_audit(regclass) IS
    'Stops auditing a table: drops the audit triggers enable_audit() created and its audit_config row; the log keeps its rows';
REVOKE ALL ON FUNCTION zerocut.disable_audit(regclass) FROM PUBLIC;

CREATE FUNCTION zerocut.audit_history(tbl regclass, pk jsonb)
    RETURNS TABLE (id bigint, level varchar, message text, metadata jsonb, user_id integer, created_at timestamptz)
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'zc_audit_history';
COMMENT ON FUNCTION zerocut.audit_history(regclass, jsonb) IS
    'One row''s change history in order: the audit_log.system_log rows of tbl whose primary key is pk (e.g. ''{"id": 42}''); indexed';

CREATE FUNCTION zerocut.audit_log_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_audit_log_guard';
COMMENT ON FUNCTION zerocut.audit_log_guard() IS
    'BEFORE UPDATE/DELETE/TRUNCATE trigger keeping audit_log.system_log and its partitions append-only for everyone but their owner';
REVOKE ALL ON FUNCTION zerocut.audit_log_guard() FROM PUBLIC;

-- TRUNCATE guards are statement triggers, which PostgreSQL does not clone
-- to partitions: every partition of the log gets its own, from the
-- installer for those that exist and from an event trigger for every later
-- one (CREATE TABLE ... PARTITION OF, ATTACH PARTITION).  Internal
-- triggers, which pg_dump leaves out: a restore's ATTACH makes them again.
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

-- audit_config follows its tables: after ALTER TABLE … RENAME / SET SCHEMA
-- and ALTER SCHEMA … RENAME its names are brought up to date, after DROP
-- TABLE / DROP SCHEMA the rows of tables that are gone are removed.  The
-- trigger finds rows by OID, so auditing never depends on this one.
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

-- The log's GIN operator class: metadata @> '...' with one index key per
-- primary-key column of an audit row (its table and key value); row images and low-cardinality
-- envelope members are not indexed, a table alone is a range of keys.
-- docs/audit.md, "Index design"; src/audit/jsonb_log_ops.cpp.
CREATE FUNCTION zerocut.jsonb_log_ops_extract_value(jsonb, internal, internal) RETURNS internal
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_jsonb_log_ops_extract_value';
COMMENT ON FUNCTION zerocut.jsonb_log_ops_extract_value(jsonb, internal, internal) IS
    'GIN support (jsonb_log_ops): the index keys of one metadata value';
CREATE FUNCTION zerocut.jsonb_log_ops_extract_query(jsonb, internal, int2, internal, internal, internal, internal)
    RETURNS internal
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_jsonb_log_ops_extract_query';
COMMENT ON FUNCTION zerocut.jsonb_log_ops_extract_query(jsonb, internal, int2, internal, internal, internal, internal) IS
    'GIN support (jsonb_log_ops): the index keys every metadata containing the query has';
CREATE FUNCTION zerocut.jsonb_log_ops_consistent(internal, int2, jsonb, int4, internal, internal, internal, internal)
    RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_jsonb_log_ops_consistent';
COMMENT ON FUNCTION zerocut.jsonb_log_ops_consistent(internal, int2, jsonb, int4, internal, internal, internal, internal) IS
    'GIN support (jsonb_log_ops): a candidate has every query key; always rechecked';
CREATE FUNCTION zerocut.jsonb_log_ops_triconsistent(internal, int2, jsonb, int4, internal, internal, internal)
    RETURNS "char"
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_jsonb_log_ops_triconsistent';
COMMENT ON FUNCTION zerocut.jsonb_log_ops_triconsistent(internal, int2, jsonb, int4, internal, internal, internal) IS
    'GIN support (jsonb_log_ops): ternary form of jsonb_log_ops_consistent';
CREATE FUNCTION zerocut.jsonb_log_ops_compare_partial(int8, int8, int2, internal) RETURNS int4
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_jsonb_log_ops_compare_partial';
COMMENT ON FUNCTION zerocut.jsonb_log_ops_compare_partial(int8, int8, int2, internal) IS
    'GIN support (jsonb_log_ops): a table''s partial key matches all keys of that table';

CREATE OPERATOR CLASS zerocut.jsonb_log_ops FOR TYPE jsonb USING gin AS
    OPERATOR 7 @> (jsonb, jsonb),
    FUNCTION 1 pg_catalog.btint8cmp(int8, int8),
    FUNCTION 2 zerocut.jsonb_log_ops_extract_value(jsonb, internal, internal),
    FUNCTION 3 zerocut.jsonb_log_ops_extract_query(jsonb, internal, int2, internal, internal, internal, internal),
    FUNCTION 4 zerocut.jsonb_log_ops_consistent(internal, int2, jsonb, int4, internal, internal, internal, internal),
    FUNCTION 5 zerocut.jsonb_log_ops_compare_partial(int8, int8, int2, internal),
    FUNCTION 6 zerocut.jsonb_log_ops_triconsistent(internal, int2, jsonb, int4, internal, internal, internal),
    STORAGE int8;
COMMENT ON OPERATOR CLASS zerocut.jsonb_log_ops USING gin IS
    'GIN for audit_log.system_log metadata: @> with one key per primary-key column of an audit row (table and key value); a table alone is a key range; row images and operation/schema are rechecked, not indexed';
