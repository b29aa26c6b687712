-- This part: the archive mover (issue 6).  Policies in zerocut.archive_policy;
-- moves by partition (detach + attach, metadata only) or in batches
-- (DELETE ... RETURNING feeding INSERT, FOR UPDATE SKIP LOCKED, keyset order).

CREATE TABLE zerocut.archive_policy (
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
COMMENT ON TABLE zerocut.archive_policy IS
    'One row per archived table, by name (pg_dump keeps names, never OIDs): rows with time_column older than CURRENT_DATE - keep move to the target table (created like the source when missing); whole_partitions rounds the cutoff down to a partition boundary.  A dropped source forgets its policy';
COMMENT ON COLUMN zerocut.archive_policy.target_schema IS
    'Schema of the archive table; by default the source''s schema with _archive appended (archive for public), fixed when the policy is first set';
COMMENT ON COLUMN zerocut.archive_policy.target_table IS
    'Name of the archive table; by default the source''s name with _archive appended (cut and suffixed with a hash beyond 63 bytes)';
COMMENT ON COLUMN zerocut.archive_policy.source_owner IS
    'The role that owned the source when the policy was set (by name): the policy is applied only while the table of that name has this owner (an error row otherwise, until the owner sets it again); NULL for a row written by hand: any owner';
SELECT pg_catalog.pg_extension_config_dump('zerocut.archive_policy', '');

CREATE FUNCTION zerocut.set_archive_policy(source regclass, time_column name, keep interval,
                                           target regclass DEFAULT NULL, batch_size integer DEFAULT 10000,
                                           whole_partitions boolean DEFAULT false) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_set_archive_policy';
COMMENT ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean) IS
    'Creates or replaces the archive policy of a table: time column, how long rows stay (positive, at most 1000 years), target table (NULL: the stored one if the policy was set for the same owner, else <schema>_archive.<table>_archive, archive.<table>_archive for public; its schema must belong to the source''s owner, its schema''s owner or a superuser), rows per batch (1..1000000), and whether the cutoff rounds down to whole partitions; TEMP tables are refused; the caller must own source and target, which must have the same owner (42501), and zerocut''s own tables are refused (42809); records the table''s owner (source_owner)';
REVOKE ALL ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.archive_partition(partition regclass) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_archive_partition';
COMMENT ON FUNCTION zerocut.archive_partition(regclass) IS
    'Detaches one partition from its parent and attaches it to the parent''s archive target (metadata only, no row copied, no scan), as the parent''s owner; the caller must own the partition and its parent; returns its qualified name';
REVOKE ALL ON FUNCTION zerocut.archive_partition(regclass) FROM PUBLIC;

CREATE FUNCTION zerocut.archive(source regclass DEFAULT NULL)
    RETURNS TABLE (source regclass, rows_moved bigint, partitions_moved integer, method text, duration interval,
                   status text, error text)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_archive';
COMMENT ON FUNCTION zerocut.archive(regclass) IS
    'Applies every archive policy (or the one of source) in one transaction, each in its own subtransaction: whole old partitions move by metadata, other old rows in batches; one row per policy, status ok, skipped (a lock was busy; error says which) or error (its work rolled back, error holds the message, an ERROR row is logged; the other policies proceed); source is NULL for a policy whose table no longer exists under its name; rows move as the table''s owner (security-restricted); a caller who is not superuser must own source, and without source runs only the policies of tables it owns';
REVOKE ALL ON FUNCTION zerocut.archive(regclass) FROM PUBLIC;

CREATE PROCEDURE zerocut.archive_proc(source regclass DEFAULT NULL, max_batches integer DEFAULT NULL)
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_archive_proc';
COMMENT ON PROCEDURE zerocut.archive_proc(regclass, integer) IS
    'Like archive(), committing after every batch and every partition move (CALL at top level); safe to cancel and resume; max_batches limits the work of one call; a failing or skipped policy is reported with a WARNING and the others proceed; rows move as the table''s owner, as in archive()';
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
    'Moves the archived rows of source with from_ts <= time < to_ts back into source in one statement (from_ts may be -infinity; to_ts infinity means no upper bound, rows at +infinity included), as the source''s owner (the caller must own it); returns the rows moved';
REVOKE ALL ON FUNCTION zerocut.restore_archived(regclass, timestamptz, timestamptz) FROM PUBLIC;

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
