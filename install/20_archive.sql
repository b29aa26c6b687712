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
