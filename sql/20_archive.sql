-- The archive mover (issue 6).  Every date is relative to the cutoff
-- c = CURRENT_DATE - keep, so the output does not depend on the day it runs.
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
RESET client_min_messages;

-- The consumption_record policy exists out of the box, and a second
-- install leaves it alone.
SELECT source_schema, source_table, time_column, keep, target_schema, target_table, batch_size, whole_partitions
FROM zerocut.archive_policy;
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT count(*) AS policies FROM zerocut.archive_policy;

-- A range-partitioned source: p1, p2 wholly older than the cutoff, p3
-- straddles it, p4 is recent, and the default partition has old and new rows.
CREATE SCHEMA arch_t;
-- Runs a statement; returns 'ok' or its SQLSTATE and message (dates masked).
CREATE FUNCTION arch_t.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d{4}-\d\d-\d\d[ 0-9:+.]*', '<date> ', 'g');
END $$;
CREATE TABLE arch_t.events (id bigint, ts timestamptz NOT NULL, payload text, amount int CHECK (amount >= 0),
                            PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
CREATE INDEX events_ts ON arch_t.events (ts);
CREATE TABLE arch_t.events_default PARTITION OF arch_t.events DEFAULT;
CREATE FUNCTION arch_t.make_parts(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE c timestamptz := (CURRENT_DATE - 30)::timestamptz;
        p record;
BEGIN
    FOR p IN SELECT * FROM (VALUES ('p1', -60, -40), ('p2', -40, -20), ('p3', -20, 20), ('p4', 20, 60)) v(n, lo, hi) LOOP
        EXECUTE format('CREATE TABLE arch_t.%I PARTITION OF arch_t.%I FOR VALUES FROM (%L) TO (%L)',
                       tbl || '_' || p.n, tbl, c + p.lo * interval '1 day', c + p.hi * interval '1 day');
    END LOOP;
    -- one row every 12 hours from c - 60 days to c + 60 days, and three in the default partition
    EXECUTE format('INSERT INTO arch_t.%I SELECT g, $1 + (g - 121) * interval ''12 hours'', ''row '' || g, g %% 7 FROM generate_series(1, 240) g', tbl) USING c;
    EXECUTE format('INSERT INTO arch_t.%I VALUES (1000, $1 - interval ''100 days'', ''old'', 1), (1001, $1 - interval ''99 days'', ''old'', 2), (1002, $1 + interval ''100 days'', ''new'', 3)', tbl) USING c;
END $$;
SELECT arch_t.make_parts('events');
CREATE TABLE arch_t.before AS SELECT * FROM arch_t.events;
SELECT tableoid::regclass AS partition, count(*) FROM arch_t.events GROUP BY 1 ORDER BY 1;

SELECT zerocut.set_archive_policy('arch_t.events', 'ts', '30 days', batch_size => 15);
SELECT source_schema, source_table, time_column, keep, target_schema, target_table, batch_size, whole_partitions
FROM zerocut.archive_policy WHERE source_schema = 'arch_t' AND source_table = 'events';

-- One transaction: p1 and p2 move by metadata, old rows of p3 and of the
-- default partition in batches of 15.
SELECT source, rows_moved, partitions_moved, method, duration > interval '0' AS timed
FROM zerocut.archive('arch_t.events');
-- The archive was created like the source and partitioned the same way;
-- p1 and p2 now belong to it (with their rows), p3's old rows went to a
-- partition with p3's bounds, the default partition's to a default one.
SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.oid = 'arch_t_archive.events_archive'::regclass;
SELECT inhrelid::regclass AS archive_partition, (SELECT count(*) FROM arch_t.before b WHERE false) AS dummy
FROM pg_inherits WHERE inhparent = 'arch_t_archive.events_archive'::regclass ORDER BY inhrelid::regclass::text;
SELECT tableoid::regclass AS archive_partition, count(*), min(id), max(id) FROM arch_t_archive.events_archive GROUP BY 1 ORDER BY tableoid::regclass::text;
SELECT tableoid::regclass AS source_partition, count(*) FROM arch_t.events GROUP BY 1 ORDER BY tableoid::regclass::text;
-- Every row exactly once, with identical values; nothing newer than the cutoff moved.
SELECT (SELECT count(*) FROM arch_t.events) + (SELECT count(*) FROM arch_t_archive.events_archive) AS total,
       (SELECT count(*) FROM arch_t.before) AS inserted;
SELECT count(*) AS missing_or_changed FROM (
    SELECT * FROM arch_t.before EXCEPT ALL (SELECT * FROM arch_t.events UNION ALL SELECT * FROM arch_t_archive.events_archive)) d;
SELECT count(*) AS duplicate_ids FROM (SELECT id FROM arch_t.events UNION ALL SELECT id FROM arch_t_archive.events_archive) u
GROUP BY id HAVING count(*) > 1;
SELECT count(*) FILTER (WHERE ts >= (CURRENT_DATE - 30)::timestamptz) AS archived_too_new,
       count(*) FILTER (WHERE ts < (CURRENT_DATE - 30)::timestamptz) AS archived_old FROM arch_t_archive.events_archive;
SELECT count(*) AS old_rows_left FROM arch_t.events WHERE ts < (CURRENT_DATE - 30)::timestamptz;
-- The moved partitions carry a validated bound CHECK (so ATTACH did not scan).
SELECT conrelid::regclass, conname, convalidated FROM pg_constraint WHERE conname = 'zc_archive_bound' ORDER BY conrelid::regclass::text;
-- Indexes of the archive's partitions are attached to the archive's indexes.
SELECT count(*) AS unattached_indexes FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'arch_t_archive.events_archive'::regclass)
  AND NOT c.relispartition;
-- The move is logged.
SELECT level, message, metadata->>'archived_count' AS archived_count, metadata->>'method' AS method,
       metadata->>'partitions_moved' AS partitions, metadata ? 'cutoff_date' AS has_cutoff, metadata ? 'duration_ms' AS has_duration
FROM audit_log.system_log WHERE metadata->>'source' = 'arch_t.events' ORDER BY id;

-- A second run finds nothing to move.
SELECT source, rows_moved, partitions_moved, method FROM zerocut.archive('arch_t.events');

-- whole_partitions: the cutoff rounds down to p3's lower bound, so p3 stays
-- whole; only metadata moves (and the default partition's old rows).
CREATE TABLE arch_t.wp (id bigint, ts timestamptz NOT NULL, payload text, amount int CHECK (amount >= 0),
                        PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
CREATE TABLE arch_t.wp_default PARTITION OF arch_t.wp DEFAULT;
SELECT arch_t.make_parts('wp');
SELECT zerocut.set_archive_policy('arch_t.wp', 'ts', '30 days', whole_partitions => true);
SELECT source, rows_moved, partitions_moved, method FROM zerocut.archive('arch_t.wp');
SELECT tableoid::regclass AS source_partition, count(*) FROM arch_t.wp GROUP BY 1 ORDER BY tableoid::regclass::text;
SELECT metadata->>'cutoff_date' = ((CURRENT_DATE - 50)::timestamptz)::text AS rounded_to_p3_lower_bound
FROM audit_log.system_log WHERE metadata->>'source' = 'arch_t.wp';

-- archive_partition(): one partition, metadata only, returns its name.
DO $$ BEGIN
    EXECUTE format('CREATE TABLE arch_t.events_p0 PARTITION OF arch_t.events FOR VALUES FROM (%L) TO (%L)',
                   (CURRENT_DATE - 30)::timestamptz - interval '80 days', (CURRENT_DATE - 30)::timestamptz - interval '60 days');
END $$;
INSERT INTO arch_t.events SELECT 2000 + g, (CURRENT_DATE - 30)::timestamptz - interval '70 days' + g * interval '1 hour', 'p0', 1
FROM generate_series(1, 10) g;
SELECT zerocut.archive_partition('arch_t.events_p0');
SELECT inhparent::regclass FROM pg_inherits WHERE inhrelid = 'arch_t.events_p0'::regclass;
SELECT count(*) AS p0_rows_in_archive FROM arch_t_archive.events_archive WHERE payload = 'p0';
-- Refused: a partition not entirely older than the policy's cutoff, a table
-- that is no partition, a default partition, NULL.  Nothing changes.
SELECT arch_t.try(stmt) FROM (VALUES
    ($$SELECT zerocut.archive_partition('arch_t.events_p4')$$),
    ($$SELECT zerocut.archive_partition('arch_t.before')$$),
    ($$SELECT zerocut.archive_partition('arch_t.events_default')$$),
    ($$SELECT zerocut.archive_partition(NULL)$$),
    ($$SELECT zerocut.archive_partition('arch_t.no_such_partition')$$),
    ($$SELECT zerocut.archive_partition('x"; DROP TABLE arch_t.before; --')$$)) v(stmt);
SELECT inhparent::regclass AS p4_still_in FROM pg_inherits WHERE inhrelid = 'arch_t.events_p4'::regclass;
-- ... and a target that already holds an overlapping partition.
CREATE TABLE arch_t_archive.events_overlap PARTITION OF arch_t_archive.events_archive
    FOR VALUES FROM ((CURRENT_DATE - 30)::timestamptz - interval '95 days') TO ((CURRENT_DATE - 30)::timestamptz - interval '85 days');
DO $$ BEGIN
    EXECUTE format('CREATE TABLE arch_t.events_px PARTITION OF arch_t.events FOR VALUES FROM (%L) TO (%L)',
                   (CURRENT_DATE - 30)::timestamptz - interval '90 days', (CURRENT_DATE - 30)::timestamptz - interval '80 days');
END $$;
SELECT arch_t.try($$SELECT zerocut.archive_partition('arch_t.events_px')$$);
SELECT inhparent::regclass AS px_still_in FROM pg_inherits WHERE inhrelid = 'arch_t.events_px'::regclass;

-- restore_archived(): a range moves back (into the source's default
-- partition, since p1 itself now lives in the archive).
SELECT zerocut.restore_archived('arch_t.events', (CURRENT_DATE - 30)::timestamptz - interval '60 days',
                                (CURRENT_DATE - 30)::timestamptz - interval '50 days') AS restored;
SELECT (SELECT count(*) FROM arch_t.events) + (SELECT count(*) FROM arch_t_archive.events_archive) AS total_after_restore;
SELECT arch_t.try(stmt) FROM (VALUES
    ($$SELECT zerocut.restore_archived('arch_t.events', '2020-01-02', '2020-01-01')$$),
    ($$SELECT zerocut.restore_archived('arch_t.events', NULL, '2020-01-01')$$),
    ($$SELECT zerocut.restore_archived('arch_t.events', '2020-01-01', NULL)$$),
    ($$SELECT zerocut.restore_archived(NULL, '2020-01-01', '2020-01-02')$$),
    ($$SELECT zerocut.restore_archived('arch_t.events', 'infinity', 'infinity')$$),
    ($$SELECT zerocut.restore_archived('arch_t.before', '2020-01-01', '2020-01-02')$$)) v(stmt);
SELECT zerocut.restore_archived('arch_t.events', '2020-01-02 00:00:00+00', '2020-01-01 00:00:00+00');

-- An unpartitioned source, batch path with commits: CALL archive_proc.
CREATE TABLE arch_t.flat (id int PRIMARY KEY, ts timestamptz NOT NULL, v text);
INSERT INTO arch_t.flat SELECT g, (CURRENT_DATE - 10)::timestamptz + (g - 51) * interval '1 hour', 'v' || g
FROM generate_series(1, 100) g;
SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '10 days', batch_size => 20);
CALL zerocut.archive_proc('arch_t.flat', max_batches => 1);
SELECT (SELECT count(*) FROM arch_t.flat) AS source_rows, (SELECT count(*) FROM arch_t_archive.flat_archive) AS archived_rows;
CALL zerocut.archive_proc('arch_t.flat');
SELECT (SELECT count(*) FROM arch_t.flat) AS source_rows, (SELECT count(*) FROM arch_t_archive.flat_archive) AS archived_rows,
       (SELECT max(id) FROM arch_t_archive.flat_archive) AS last_archived_id;
SELECT relkind FROM pg_class WHERE oid = 'arch_t_archive.flat_archive'::regclass;
-- archive_proc refuses to run inside a transaction block, or with max_batches <= 0.
BEGIN;
CALL zerocut.archive_proc('arch_t.flat');
ROLLBACK;
CALL zerocut.archive_proc('arch_t.flat', 0);

-- Key columns whose names need quoting, a text one among them, and rows
-- sharing one timestamp: the keyset (time column first) carries every key
-- column from batch to batch; each old row moves once, no new one moves.
CREATE TABLE arch_t."Odd Keys" ("Order Id" int, "Line No" text, ts timestamptz NOT NULL,
                                PRIMARY KEY ("Order Id", "Line No"));
CREATE INDEX ON arch_t."Odd Keys" (ts);
INSERT INTO arch_t."Odd Keys"
SELECT g / 3, 'line ' || g % 3, (CURRENT_DATE - 20)::timestamptz + (g / 4) * interval '1 day'
FROM generate_series(0, 59) g;
SELECT zerocut.set_archive_policy('arch_t."Odd Keys"', 'ts', '10 days', batch_size => 7);
SET client_min_messages = warning;
CALL zerocut.archive_proc('arch_t."Odd Keys"');
RESET client_min_messages;
SELECT (SELECT count(*) FROM arch_t."Odd Keys") AS source_rows,
       (SELECT count(*) FROM arch_t_archive."Odd Keys_archive") AS archived_rows,
       (SELECT count(DISTINCT ("Order Id", "Line No")) FROM arch_t_archive."Odd Keys_archive") AS distinct_archived,
       (SELECT bool_and(ts < CURRENT_DATE - 10) FROM arch_t_archive."Odd Keys_archive") AS only_old,
       (SELECT bool_and(ts >= CURRENT_DATE - 10) FROM arch_t."Odd Keys") AS only_new_left,
       (SELECT metadata->>'batches' FROM audit_log.system_log WHERE metadata->>'source' = 'arch_t."Odd Keys"'
        ORDER BY id DESC LIMIT 1) AS batches;

-- A hostile table name is only ever quoted.
CREATE TABLE arch_t."x""; DROP TABLE arch_t.flat; --" (id int PRIMARY KEY, ts timestamptz NOT NULL);
INSERT INTO arch_t."x""; DROP TABLE arch_t.flat; --" VALUES (1, now() - interval '1 year'), (2, now());
SELECT zerocut.set_archive_policy('arch_t."x""; DROP TABLE arch_t.flat; --"', 'ts', '1 month');
SELECT source, rows_moved, method FROM zerocut.archive('arch_t."x""; DROP TABLE arch_t.flat; --"');
SELECT count(*) AS flat_still_there FROM arch_t.flat;
SELECT count(*) AS hostile_archived FROM arch_t_archive."x""; DROP TABLE arch_t.flat; --_archive";

-- Bad input to set_archive_policy: clear errors, the policy table unchanged.
CREATE TEMP TABLE policies_before AS SELECT * FROM zerocut.archive_policy;
CREATE TABLE arch_t.wrong_target (id int, ts timestamptz, v int);
CREATE TABLE arch_t.short_target (id int, ts timestamptz);
CREATE TABLE arch_t.no_pk (id int, ts timestamptz);
CREATE VIEW arch_t.a_view AS SELECT * FROM arch_t.flat;
SELECT arch_t.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy(NULL, 'ts', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', NULL, '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', NULL)$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', batch_size => NULL)$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'no_such_column', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'x"; DROP TABLE arch_t.flat; --', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'v', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '0 days')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '-1 month')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', batch_size => 0)$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', batch_size => -5)$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', batch_size => 2000000)$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', target => 'arch_t.flat')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.events', 'ts', '1 day', target => 'arch_t.events_p4')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', target => 'arch_t.wrong_target')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', target => 'arch_t.short_target')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.no_pk', 'ts', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', whole_partitions => NULL)$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.a_view', 'ts', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_t.events_p4', 'ts', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('x"; DROP TABLE y; --', 'ts', '1 day')$$)) v(stmt);
-- The hint says what to do:
SELECT zerocut.set_archive_policy('arch_t.no_pk', 'ts', '1 day');
SELECT count(*) AS policies_changed FROM (
    (SELECT * FROM zerocut.archive_policy EXCEPT SELECT * FROM policies_before)
    UNION ALL (SELECT * FROM policies_before EXCEPT SELECT * FROM zerocut.archive_policy)) d;
-- archive() of a table without policy, archive_proc of one, NULL source = every policy.
SELECT * FROM zerocut.archive('arch_t.no_pk');
CALL zerocut.archive_proc('arch_t.no_pk');
-- A policy can target an existing compatible table.
CREATE TABLE arch_t.flat_history (LIKE arch_t.flat);
SELECT zerocut.set_archive_policy('arch_t.flat', 'ts', '1 day', target => 'arch_t.flat_history', batch_size => 500);
SELECT target_schema, target_table, batch_size FROM zerocut.archive_policy
WHERE source_schema = 'arch_t' AND source_table = 'flat';

-- The seed's contract on the domain table: 5 of 10 records are older than
-- CURRENT_DATE - 6 months (all in the default partition: no monthly ones here).
INSERT INTO workspace_domain.workspace (id, name, code) VALUES (1, 'w', 'w1');
INSERT INTO financial_management.consumption_record (workspace_id, amount, created_at)
SELECT 1, k + 5, (CURRENT_DATE - interval '6 months') + k * interval '1 day' + interval '1 hour'
FROM generate_series(-5, 4) k;
SELECT zerocut.archive_old_consumption_records() AS archived;
SELECT count(*) AS left_in_source FROM financial_management.consumption_record;
SELECT count(*) AS in_archive, min(amount), max(amount) FROM archive.consumption_record_archive;
SELECT message, metadata->>'archived_count' AS archived_count, metadata->>'method' AS method,
       (metadata->>'cutoff_date')::timestamptz = (CURRENT_DATE - interval '6 months')::timestamptz AS cutoff_ok,
       metadata ? 'duration_ms' AS has_duration
FROM audit_log.system_log WHERE message = 'Archived consumption records';
SELECT zerocut.archive_old_consumption_records() AS archived_again;

-- Clean up: the database as we found it.
SET client_min_messages = warning;
DROP SCHEMA arch_t CASCADE;
DROP SCHEMA arch_t_archive CASCADE;
DROP TABLE archive.consumption_record_archive;
DELETE FROM zerocut.archive_policy WHERE source_schema <> 'financial_management';
TRUNCATE workspace_domain.workspace, financial_management.consumption_record, audit_log.system_log CASCADE;
RESET client_min_messages;
SELECT source_schema, source_table FROM zerocut.archive_policy;
