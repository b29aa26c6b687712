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
