-- zerocut install script, assembled from install/*.sql in name order.
-- This part: the foundation (version, boundary self-test, domain schema,
-- sample data, updated_at trigger).
\echo Use "CREATE EXTENSION zerocut" to load this file. \quit

CREATE FUNCTION zerocut.version() RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_version';
COMMENT ON FUNCTION zerocut.version() IS
    'zerocut''s version, the PostgreSQL major it was built for, and the fmt and OpenSSL versions it links';

CREATE FUNCTION zerocut.boundary_selftest(kind text) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_boundary_selftest';
COMMENT ON FUNCTION zerocut.boundary_selftest(text) IS
    'Diagnostic: raises one kind of error through the C++/PostgreSQL boundary (ok, live_objects, cpp_error, cpp_std_exception, cpp_bad_alloc, cpp_unknown, pg_error, pg_spi_error)';

CREATE FUNCTION zerocut.touch_updated_at() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_touch_updated_at';
COMMENT ON FUNCTION zerocut.touch_updated_at() IS
    'BEFORE UPDATE FOR EACH ROW trigger: sets updated_at (or the column named by the trigger argument) to the transaction timestamp';

CREATE FUNCTION zerocut.install_domain_schema() RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_install_domain_schema';
COMMENT ON FUNCTION zerocut.install_domain_schema() IS
    'Creates, idempotently, the SaaS domain schemas, tables, keys, indexes and triggers (not extension members); returns the SQL files applied';
REVOKE ALL ON FUNCTION zerocut.install_domain_schema() FROM PUBLIC;

CREATE FUNCTION zerocut.sample_hash(key bigint, seed integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (pg_catalog.hashint8extended(key, seed::bigint) & 2147483647)::integer;
COMMENT ON FUNCTION zerocut.sample_hash(bigint, integer) IS
    'Deterministic non-negative pseudo-random integer for (key, seed); the source of every value generate_sample_data() writes';

CREATE FUNCTION zerocut.generate_sample_data(workspaces integer DEFAULT 100, days integer DEFAULT 400,
                                             seed integer DEFAULT 42) RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_generate_sample_data';
COMMENT ON FUNCTION zerocut.generate_sample_data(integer, integer, integer) IS
    'Fills the empty domain tables with deterministic sample data (3 members, 2 API keys, 1 account per workspace; daily usage and 5 consumption records per day); returns row counts';
REVOKE ALL ON FUNCTION zerocut.generate_sample_data(integer, integer, integer) FROM PUBLIC;
-- This part: the partition manager (docs/partitions.md).

CREATE TABLE zerocut.partition_config (
    parent              regclass PRIMARY KEY,
    control_column      name NOT NULL,
    granularity         text NOT NULL DEFAULT 'month'
                        CHECK (granularity IN ('day', 'week', 'month', 'quarter', 'year')),
    premake             integer NOT NULL DEFAULT 3 CHECK (premake BETWEEN 0 AND 1000),
    retention           interval CHECK (retention > interval '0'),
    retention_action    text NOT NULL DEFAULT 'detach' CHECK (retention_action IN ('detach', 'drop', 'archive')),
    time_zone           text NOT NULL DEFAULT 'UTC',
    start_date          date,
    registered_at       timestamptz NOT NULL DEFAULT now(),
    last_maintenance_at timestamptz,
    last_outcome        text
);
COMMENT ON TABLE zerocut.partition_config IS
    'Parents managed by zerocut''s partition manager (one row per parent; kept by pg_dump); written by manage_partitions() and run_maintenance()';
SELECT pg_catalog.pg_extension_config_dump('zerocut.partition_config', '');

CREATE FUNCTION zerocut.create_monthly_partition(table_name text, start_date date) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_create_monthly_partition';
COMMENT ON FUNCTION zerocut.create_monthly_partition(text, date) IS
    'Creates (or returns, when an identical one exists) the partition <table>_YYYY_MM for the whole month containing start_date, moving that month''s rows out of the default partition; returns its qualified name';
REVOKE ALL ON FUNCTION zerocut.create_monthly_partition(text, date) FROM PUBLIC;

CREATE FUNCTION zerocut.manage_partitions(parent regclass, control_column name, granularity text DEFAULT 'month',
                                          premake integer DEFAULT 3, retention interval DEFAULT NULL,
                                          retention_action text DEFAULT 'detach', start_date date DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_manage_partitions';
COMMENT ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) IS
    'Registers a RANGE-partitioned parent for maintenance and creates its default partition and every partition from the start (given, oldest row, or now) through now + premake';
REVOKE ALL ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) FROM PUBLIC;

CREATE FUNCTION zerocut.run_maintenance(parent regclass DEFAULT NULL)
    RETURNS TABLE(parent regclass, action text, partition text, detail text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_run_maintenance';
COMMENT ON FUNCTION zerocut.run_maintenance(regclass) IS
    'For every managed parent (or the one given): creates partitions through now + premake, moves default-partition rows into their partitions, applies retention; logs every action; skips a parent it cannot lock within zerocut.partition_lock_timeout';
REVOKE ALL ON FUNCTION zerocut.run_maintenance(regclass) FROM PUBLIC;

CREATE PROCEDURE zerocut.run_maintenance_proc()
    LANGUAGE plpgsql
AS $$
DECLARE
    managed regclass;
BEGIN
    -- One transaction per parent, so a long run holds no lock for long.
    FOR managed IN SELECT c.parent FROM zerocut.partition_config c ORDER BY c.parent::pg_catalog.oid LOOP
        PERFORM zerocut.run_maintenance(managed);
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE zerocut.run_maintenance_proc() IS
    'CALL zerocut.run_maintenance_proc(): run_maintenance() for each managed parent, committing after each (for pg_cron)';
REVOKE ALL ON PROCEDURE zerocut.run_maintenance_proc() FROM PUBLIC;

CREATE FUNCTION zerocut.convert_to_partitioned(tbl regclass, control_column name, granularity text DEFAULT 'month')
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_convert_to_partitioned';
COMMENT ON FUNCTION zerocut.convert_to_partitioned(regclass, name, text) IS
    'Turns a plain table into a managed RANGE-partitioned table of the same name, keeping rows (attached as a legacy partition without copying), defaults, indexes, constraints, foreign keys, grants, triggers and sequence ownership';
REVOKE ALL ON FUNCTION zerocut.convert_to_partitioned(regclass, name, text) FROM PUBLIC;

CREATE VIEW zerocut.partition_health AS
WITH children AS (
    SELECT c.parent, k.oid AS child, pg_catalog.pg_get_expr(k.relpartbound, k.oid) AS bound,
           a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype AS with_zone, c.time_zone
    FROM zerocut.partition_config c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.parent AND a.attname = c.control_column
    JOIN pg_catalog.pg_inherits i ON i.inhparent = c.parent
    JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
), bounds AS (
    SELECT parent, child, bound = 'DEFAULT' AS is_default,
           CASE WHEN with_zone THEN lower_text::pg_catalog.timestamptz
                ELSE lower_text::pg_catalog.timestamp AT TIME ZONE time_zone END AS lower_at,
           CASE WHEN with_zone THEN upper_text::pg_catalog.timestamptz
                ELSE upper_text::pg_catalog.timestamp AT TIME ZONE time_zone END AS upper_at
    FROM (SELECT *, pg_catalog.substring(bound, $re$^FOR VALUES FROM \('([^']*)'\)$re$) AS lower_text,
                 pg_catalog.substring(bound, $re$ TO \('([^']*)'\)$$re$) AS upper_text
          FROM children) parsed
)
SELECT c.parent,
       c.granularity,
       c.premake,
       (SELECT pg_catalog.count(*) FROM bounds b WHERE b.parent = c.parent AND NOT b.is_default) AS partitions,
       (SELECT pg_catalog.count(*) FROM bounds b WHERE b.parent = c.parent AND b.lower_at > pg_catalog.now()) AS partitions_ahead,
       (SELECT (pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml(
                   pg_catalog.format('SELECT pg_catalog.count(*) AS n FROM ONLY %s', b.child::pg_catalog.regclass),
                   false, true, '')))[1]::pg_catalog.text::bigint
        FROM bounds b WHERE b.parent = c.parent AND b.is_default) AS rows_in_default,
       (SELECT pg_catalog.min(b.lower_at) FROM bounds b WHERE b.parent = c.parent) AS oldest_bound,
       (SELECT pg_catalog.max(b.upper_at) FROM bounds b WHERE b.parent = c.parent) AS newest_bound,
       c.retention,
       c.retention_action,
       (SELECT pg_catalog.count(*) FROM bounds b
        WHERE b.parent = c.parent AND NOT b.is_default AND c.retention IS NOT NULL
          AND b.upper_at <= ((pg_catalog.now() AT TIME ZONE c.time_zone) - c.retention) AT TIME ZONE c.time_zone)
           AS retention_due,
       c.last_maintenance_at,
       c.last_outcome
FROM zerocut.partition_config c;
COMMENT ON VIEW zerocut.partition_health IS
    'Per managed parent: partitions, partitions starting after now, rows waiting in the default partition, oldest and newest bounds, partitions due for retention, last maintenance time and outcome';
-- This part: the archive mover (issue 6).  Policies in zerocut.archive_policy;
-- moves by partition (detach + attach, metadata only) or in batches
-- (DELETE ... RETURNING feeding INSERT, FOR UPDATE SKIP LOCKED, keyset order).

CREATE TABLE zerocut.archive_policy (
    source           regclass PRIMARY KEY,
    time_column      name NOT NULL,
    keep             interval NOT NULL CHECK (keep > interval '0'),
    target           regclass,
    batch_size       integer NOT NULL DEFAULT 10000 CHECK (batch_size > 0),
    whole_partitions boolean NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE zerocut.archive_policy IS
    'One row per archived table: rows with time_column older than CURRENT_DATE - keep move to target (NULL: archive.<source>_archive, created when missing); whole_partitions rounds the cutoff down to a partition boundary';
SELECT pg_catalog.pg_extension_config_dump('zerocut.archive_policy', '');

CREATE FUNCTION zerocut.set_archive_policy(source regclass, time_column name, keep interval,
                                           target regclass DEFAULT NULL, batch_size integer DEFAULT 10000,
                                           whole_partitions boolean DEFAULT false) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_set_archive_policy';
COMMENT ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean) IS
    'Creates or replaces the archive policy of a table: time column, how long rows stay, target table (NULL: archive.<source>_archive), rows per batch, and whether the cutoff rounds down to whole partitions';
REVOKE ALL ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.archive_partition(partition regclass) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_archive_partition';
COMMENT ON FUNCTION zerocut.archive_partition(regclass) IS
    'Detaches one partition from its parent and attaches it to the parent''s archive target (metadata only, no row copied, no scan); returns its qualified name';
REVOKE ALL ON FUNCTION zerocut.archive_partition(regclass) FROM PUBLIC;

CREATE FUNCTION zerocut.archive(source regclass DEFAULT NULL)
    RETURNS TABLE (source regclass, rows_moved bigint, partitions_moved integer, method text, duration interval)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_archive';
COMMENT ON FUNCTION zerocut.archive(regclass) IS
    'Applies every archive policy (or the one of source) in one transaction: whole old partitions move by metadata, other old rows in batches; one row per policy';
REVOKE ALL ON FUNCTION zerocut.archive(regclass) FROM PUBLIC;

CREATE PROCEDURE zerocut.archive_proc(source regclass DEFAULT NULL, max_batches integer DEFAULT NULL)
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_archive_proc';
COMMENT ON PROCEDURE zerocut.archive_proc(regclass, integer) IS
    'Like archive(), committing after every batch and every partition move (CALL at top level); safe to cancel and resume; max_batches limits the work of one call';
REVOKE ALL ON PROCEDURE zerocut.archive_proc(regclass, integer) FROM PUBLIC;

CREATE FUNCTION zerocut.archive_old_consumption_records() RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_archive_old_consumption_records';
COMMENT ON FUNCTION zerocut.archive_old_consumption_records() IS
    'The seed''s contract: moves consumption records older than the policy''s keep (default 6 months) into archive.consumption_record_archive, logs to audit_log.system_log, returns the rows moved';
REVOKE ALL ON FUNCTION zerocut.archive_old_consumption_records() FROM PUBLIC;

CREATE FUNCTION zerocut.restore_archived(source regclass, from_ts timestamptz, to_ts timestamptz) RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_restore_archived';
COMMENT ON FUNCTION zerocut.restore_archived(regclass, timestamptz, timestamptz) IS
    'Moves the archived rows of source with from_ts <= time < to_ts back into source in one statement; returns the rows moved';
REVOKE ALL ON FUNCTION zerocut.restore_archived(regclass, timestamptz, timestamptz) FROM PUBLIC;
-- This part: analytics (issue 5) — the dashboard-stats JSON builder and the
-- refresh of the analytics materialized views.  The views themselves are
-- domain objects, made by install_domain_schema() (domain/30_analytics.sql).

CREATE FUNCTION zerocut.get_workspace_dashboard_stats(p_workspace_id integer, p_days integer DEFAULT 30)
    RETURNS json
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'zc_get_workspace_dashboard_stats';
COMMENT ON FUNCTION zerocut.get_workspace_dashboard_stats(integer, integer) IS
    'Dashboard JSON of one workspace over the last p_days days (1..3660, default 30): usage totals, average daily calls, active members and keys, balance and the daily trend; equal to the seed''s PL/pgSQL for 30 days; runs as the caller (row-level security applies); NULL workspace gives NULL, an unknown one P0002';

CREATE FUNCTION zerocut.refresh_analytics_views()
    RETURNS TABLE ("view" regclass, duration interval, concurrently boolean)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_refresh_analytics_views';
COMMENT ON FUNCTION zerocut.refresh_analytics_views() IS
    'Refreshes every analytics materialized view (CONCURRENTLY once populated, plainly the first time), logs to audit_log.system_log, returns each view with its duration; on a hot standby returns no rows with a NOTICE';

-- ---------------------------------------------------------------- audit --
-- The C++ audit trigger (issue 7): complete change history in
-- audit_log.system_log with redaction, delta rows, a statement mode and an
-- append-only log.  docs/audit.md.

CREATE TABLE zerocut.audit_config (
    schema_name     name NOT NULL,
    table_name      name NOT NULL,
    mode            text NOT NULL DEFAULT 'row' CHECK (mode IN ('row', 'statement')),
    exclude_columns text[] NOT NULL DEFAULT '{}',
    changed_only    boolean NOT NULL DEFAULT true,
    enabled_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    enabled_by      name NOT NULL DEFAULT CURRENT_USER,
    PRIMARY KEY (schema_name, table_name)
);
COMMENT ON TABLE zerocut.audit_config IS
    'Audited tables and their settings, written by enable_audit()/disable_audit(); the triggers carry the same settings as arguments. Kept by pg_dump';
SELECT pg_catalog.pg_extension_config_dump('zerocut.audit_config', '');
GRANT SELECT ON zerocut.audit_config TO PUBLIC;

CREATE FUNCTION zerocut.audit_trigger_function() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_audit_trigger_function';
COMMENT ON FUNCTION zerocut.audit_trigger_function() IS
    'AFTER trigger (row mode, statement mode with transition tables, or TRUNCATE): writes each change to audit_log.system_log as {operation, schema, table, pk, old_data, new_data}, with redaction and changed-column deltas; user_id from app.current_user_id';

CREATE FUNCTION zerocut.enable_audit(tbl regclass, exclude_columns text[] DEFAULT NULL, mode text DEFAULT 'row',
                                     changed_only boolean DEFAULT true) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_enable_audit';
COMMENT ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean) IS
    'Audits a table (one trigger set on a partitioned parent): mode row or statement, excluded columns never logged in clear, changed_only stores the primary key and changed columns; idempotent; settings in zerocut.audit_config; creates audit_log.system_log when missing';
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
    'BEFORE UPDATE/DELETE/TRUNCATE trigger keeping audit_log.system_log append-only for everyone but its owner';

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
-- This part: encryption (docs/crypto.md).  Seed-compatible pgcrypto wrappers,
-- and a keyring: data keys wrapped by a server-held root key (GUC
-- zerocut.key_file), AES-256-GCM envelopes, rotation, blind indexes and
-- column protection.

CREATE SEQUENCE zerocut.encryption_keys_id_seq AS integer;
CREATE TABLE zerocut.encryption_keys (
    id          integer PRIMARY KEY DEFAULT nextval('zerocut.encryption_keys_id_seq'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
    version     integer NOT NULL CHECK (version > 0),
    status      text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    wrapped_key bytea NOT NULL CHECK (length(wrapped_key) = 60),
    UNIQUE (name, version)
);
ALTER SEQUENCE zerocut.encryption_keys_id_seq OWNED BY zerocut.encryption_keys.id;
CREATE UNIQUE INDEX encryption_keys_one_active ON zerocut.encryption_keys (name) WHERE status = 'active';
COMMENT ON TABLE zerocut.encryption_keys IS
    'Data keys of the keyring: each version of a named key, AES-256-GCM-wrapped by the root key in zerocut.key_file (useless without it); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.encryption_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE zerocut.encryption_keys_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.encryption_keys', '');

CREATE FUNCTION zerocut.keyring_invalidate() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_keyring_invalidate';
COMMENT ON FUNCTION zerocut.keyring_invalidate() IS
    'Statement trigger on zerocut.encryption_keys: any change (rotation, manual DELETE, restore) invalidates every backend''s key cache';
CREATE TRIGGER keyring_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.encryption_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.keyring_invalidate();
SELECT pg_catalog.pg_extension_config_dump('zerocut.encryption_keys_id_seq', '');

CREATE FUNCTION zerocut.create_key(name text) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_create_key';
COMMENT ON FUNCTION zerocut.create_key(text) IS
    'Creates a named data key (random 256 bits, wrapped by the root key in zerocut.key_file) as version 1; returns its id';
REVOKE ALL ON FUNCTION zerocut.create_key(text) FROM PUBLIC;

CREATE FUNCTION zerocut.rotate_key(name text) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_rotate_key';
COMMENT ON FUNCTION zerocut.rotate_key(text) IS
    'Makes a new version of a named data key active; older versions stay (retired) and still decrypt; returns the new id';
REVOKE ALL ON FUNCTION zerocut.rotate_key(text) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt(data text, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_encrypt';
COMMENT ON FUNCTION zerocut.encrypt(text, text, text) IS
    'AES-256-GCM envelope of text under the active version of key_name, random nonce, context bound as associated data; NULL data gives NULL';
REVOKE ALL ON FUNCTION zerocut.encrypt(text, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt(data bytea, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_encrypt_bytea';
COMMENT ON FUNCTION zerocut.encrypt(bytea, text, text) IS
    'AES-256-GCM envelope of bytea under the active version of key_name, random nonce, context bound as associated data; NULL data gives NULL';
REVOKE ALL ON FUNCTION zerocut.encrypt(bytea, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.decrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS text
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_decrypt';
COMMENT ON FUNCTION zerocut.decrypt(bytea, text) IS
    'Decrypts a zerocut.encrypt() text envelope (key found from its header); tampering, truncation, wrong context or unknown key is an ERROR';
REVOKE ALL ON FUNCTION zerocut.decrypt(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.decrypt_bytea(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_decrypt_bytea';
COMMENT ON FUNCTION zerocut.decrypt_bytea(bytea, text) IS
    'Decrypts a zerocut.encrypt() envelope to bytea (key found from its header); tampering, truncation, wrong context or unknown key is an ERROR';
REVOKE ALL ON FUNCTION zerocut.decrypt_bytea(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.reencrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_reencrypt';
COMMENT ON FUNCTION zerocut.reencrypt(bytea, text) IS
    'Re-encrypts an envelope under the active version of its key (same context); unchanged when already active';
REVOKE ALL ON FUNCTION zerocut.reencrypt(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.blind_index(data text, key_name text DEFAULT 'default') RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_blind_index';
COMMENT ON FUNCTION zerocut.blind_index(text, text) IS
    'HMAC-SHA256 of data under a blind-index key derived from the first version of key_name (stable across rotation), for equality search on encrypted columns';
REVOKE ALL ON FUNCTION zerocut.blind_index(text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.blind_index(data bytea, key_name text DEFAULT 'default') RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_blind_index';
COMMENT ON FUNCTION zerocut.blind_index(bytea, text) IS
    'HMAC-SHA256 of bytes under the blind-index key of key_name (what protect_column writes for a bytea column); equal to the text version for the same bytes';
REVOKE ALL ON FUNCTION zerocut.blind_index(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.protect_column_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_protect_column_trigger';
COMMENT ON FUNCTION zerocut.protect_column_trigger() IS
    'BEFORE INSERT OR UPDATE row trigger made by protect_column(): encrypts <col> into <col>_encrypted (never twice), writes <col>_bidx, blanks <col> unless keep_plaintext';

CREATE FUNCTION zerocut.protect_column(tbl regclass, col name, key_name text DEFAULT 'default',
                                       blind_index boolean DEFAULT true, keep_plaintext boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_protect_column';
COMMENT ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) IS
    'Adds <col>_encrypted (reusing an empty or zerocut-encrypted bytea column), <col>_bidx with an index, and the encrypting trigger; existing rows: CALL encrypt_column_backfill()';
REVOKE ALL ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt_column_batch(tbl regclass, col name, start_block bigint, end_block bigint,
                                             batch_size integer, OUT next_block bigint, OUT end_block bigint,
                                             OUT rows_encrypted bigint)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_encrypt_column_batch';
COMMENT ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) IS
    'One batch of encrypt_column_backfill(): encrypts the pending rows of a block range of a protected column; next_block NULL when done';
REVOKE ALL ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) FROM PUBLIC;

-- PL/pgSQL only for the loop: a procedure may COMMIT between batches only
-- when it has no SET clause, so every name in it is schema-qualified.
CREATE PROCEDURE zerocut.encrypt_column_backfill(tbl regclass, col name, batch_size integer DEFAULT 5000)
    LANGUAGE plpgsql
    AS $$
DECLARE
    next_block bigint := 0;
    last_block bigint;
    total bigint := 0;
    step record;
BEGIN
    LOOP
        SELECT * INTO step FROM zerocut.encrypt_column_batch(tbl, col, next_block, last_block, batch_size);
        total := total OPERATOR(pg_catalog.+) step.rows_encrypted;
        last_block := step.end_block;
        COMMIT;
        EXIT WHEN step.next_block IS NULL;
        next_block := step.next_block;
    END LOOP;
    RAISE NOTICE 'zerocut: encrypted % rows of %.%', total, tbl, pg_catalog.quote_ident(col);
END
$$;
COMMENT ON PROCEDURE zerocut.encrypt_column_backfill(regclass, name, integer) IS
    'Encrypts the existing rows of a protected column in committed batches of about batch_size rows (resumable; CALL it outside a transaction block)';
REVOKE ALL ON PROCEDURE zerocut.encrypt_column_backfill(regclass, name, integer) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt_sensitive_data(data text, key text) RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'zc_encrypt_sensitive_data';
COMMENT ON FUNCTION zerocut.encrypt_sensitive_data(text, text) IS
    'Seed-compatible: pgcrypto pgp_sym_encrypt(data, key) (needs CREATE EXTENSION pgcrypto); the key travels in SQL, prefer zerocut.encrypt()';

CREATE FUNCTION zerocut.decrypt_sensitive_data(encrypted_data bytea, key text) RETURNS text
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'zc_decrypt_sensitive_data';
COMMENT ON FUNCTION zerocut.decrypt_sensitive_data(bytea, text) IS
    'Seed-compatible: pgcrypto pgp_sym_decrypt(encrypted_data, key) (needs CREATE EXTENSION pgcrypto); wrong key is an ERROR showing neither key nor data';
