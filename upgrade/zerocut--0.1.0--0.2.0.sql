-- zerocut 0.1.0 -> 0.2.0 (issue 14).  Brings a 0.1.0 install to exactly
-- what a fresh 0.2.0 install creates (test/e2e/upgrade_from_0.1.0.sh checks
-- every member object, function definition and table column), keeping
-- every row and setting.
\echo Use "ALTER EXTENSION zerocut UPDATE TO '0.2.0'" to load this file. \quit

-- Partition manager: new checks and per-parent isolation, described.
COMMENT ON FUNCTION zerocut.manage_partitions(regclass, name, text, integer, interval, text, date) IS
    'Registers a RANGE-partitioned parent for maintenance and creates its default partition and every partition from the start (given, oldest row, or now) through now + premake; refuses a retention that is not a positive interval of at most 1000 years or is shorter than the table''s archive policy keep (docs/partitions.md), and a granularity change overlapping existing partitions';
COMMENT ON FUNCTION zerocut.run_maintenance(regclass) IS
    'For every managed parent (or the one given): creates partitions through now + premake, moves default-partition rows into their partitions, applies retention; logs every action; skips a parent it cannot lock within zerocut.partition_lock_timeout; each parent runs in its own subtransaction: a failing one is rolled back, returned as an error row, logged at ERROR level and kept as its last_outcome, and the others proceed';
COMMENT ON FUNCTION zerocut.convert_to_partitioned(regclass, name, text) IS
    'Turns a plain table into a managed RANGE-partitioned table of the same name, keeping rows (attached as a legacy partition without copying, its bound proved on a fresh snapshot under ACCESS EXCLUSIVE), defaults, indexes, constraints, foreign keys, grants, triggers and sequence ownership';

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
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (source_schema, source_table)
);
INSERT INTO zerocut.archive_policy_0_2_0
    (source_schema, source_table, time_column, keep, target_schema, target_table, batch_size, whole_partitions,
     updated_at)
SELECT sn.nspname, sc.relname, p.time_column, LEAST(p.keep, interval '1000 years'),
       COALESCE(tn.nspname, 'archive'), COALESCE(tc.relname, (sc.relname || '_archive')::name),
       LEAST(p.batch_size, 1000000), p.whole_partitions, p.updated_at
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
SELECT pg_catalog.pg_extension_config_dump('zerocut.archive_policy', '');

COMMENT ON FUNCTION zerocut.set_archive_policy(regclass, name, interval, regclass, integer, boolean) IS
    'Creates or replaces the archive policy of a table: time column, how long rows stay (positive, at most 1000 years), target table (NULL: the stored one, else <schema>_archive.<table>_archive, archive.<table>_archive for public), rows per batch (1..1000000), and whether the cutoff rounds down to whole partitions; TEMP tables are refused; the caller must own source and target, which must have the same owner (42501), and zerocut''s own tables are refused (42809)';

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
