-- Archive policies under issue 14: one target per source (schema included),
-- restore at +-infinity, policies stored by name (dropped tables forget
-- their policy, TEMP tables refused), settings validated when set, and one
-- failing policy never stops the others.  Dates are relative to CURRENT_DATE.
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET TimeZone = 'UTC';
CREATE SCHEMA arch_i;
CREATE FUNCTION arch_i.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'pg_temp_\d+', 'pg_temp_N', 'g');
END $$;

-- 1. Two tenants, one table name, overlapping ids: each source gets its own
-- archive, in an archive schema named after its own schema.
CREATE SCHEMA tenant_a;
CREATE SCHEMA tenant_b;
CREATE TABLE tenant_a.orders (id int PRIMARY KEY, ts timestamptz NOT NULL, v text);
CREATE TABLE tenant_b.orders (id int PRIMARY KEY, ts timestamptz NOT NULL, v text);
INSERT INTO tenant_a.orders SELECT g, CURRENT_DATE - 60 + g, 'a' FROM generate_series(1, 40) g;
INSERT INTO tenant_b.orders SELECT g, CURRENT_DATE - 60 + g, 'b' FROM generate_series(1, 40) g;
SELECT zerocut.set_archive_policy('tenant_a.orders', 'ts', '30 days');
SELECT zerocut.set_archive_policy('tenant_b.orders', 'ts', '30 days');
SELECT source_schema, source_table, target_schema, target_table FROM zerocut.archive_policy
WHERE source_schema LIKE 'tenant%' ORDER BY 1, 2;
SELECT source, rows_moved, method, status, error FROM zerocut.archive()
WHERE source::text LIKE 'tenant%' ORDER BY source::text COLLATE "C";
SELECT v, count(*), min(id), max(id) FROM tenant_a_archive.orders_archive GROUP BY v;
SELECT v, count(*), min(id), max(id) FROM tenant_b_archive.orders_archive GROUP BY v;
-- restore_archived brings back the tenant's own rows only.
SELECT zerocut.restore_archived('tenant_b.orders', '-infinity', 'infinity') AS restored_b;
SELECT v, count(*) FROM tenant_b.orders GROUP BY v;
SELECT count(*) AS still_archived_a FROM tenant_a_archive.orders_archive;
-- A table in public keeps the name archive.<table>_archive.
CREATE TABLE public.arch_i_pub (id int PRIMARY KEY, ts date NOT NULL);
SELECT zerocut.set_archive_policy('public.arch_i_pub', 'ts', '1 day');
SELECT target_schema, target_table FROM zerocut.archive_policy WHERE source_table = 'arch_i_pub';
-- Names longer than 63 bytes with "_archive": cut and suffixed with a hash of
-- the full name, so two names equal in their first 50 bytes stay apart.
CREATE SCHEMA "tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x1";
CREATE SCHEMA "tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x2";
CREATE TABLE "tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x1"."a_table_name_that_is_long_enough_to_need_a_cut_too_ok_1"
    (id int PRIMARY KEY, ts timestamptz NOT NULL);
CREATE TABLE "tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x2"."a_table_name_that_is_long_enough_to_need_a_cut_too_ok_1"
    (id int PRIMARY KEY, ts timestamptz NOT NULL);
SELECT zerocut.set_archive_policy('"tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x1"."a_table_name_that_is_long_enough_to_need_a_cut_too_ok_1"', 'ts', '1 day');
SELECT zerocut.set_archive_policy('"tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x2"."a_table_name_that_is_long_enough_to_need_a_cut_too_ok_1"', 'ts', '1 day');
SELECT target_schema, target_table, octet_length(target_schema) AS schema_bytes, octet_length(target_table) AS table_bytes
FROM zerocut.archive_policy WHERE source_schema LIKE 'tenant_with%' ORDER BY 1;
SELECT count(*) AS archived_long FROM zerocut.archive() WHERE status = 'ok' AND source::text LIKE '%tenant_with%';
-- A hostile schema name is only ever quoted.
CREATE SCHEMA "x""; DROP SCHEMA tenant_a CASCADE; --";
CREATE TABLE "x""; DROP SCHEMA tenant_a CASCADE; --".t (id int PRIMARY KEY, ts timestamptz NOT NULL);
INSERT INTO "x""; DROP SCHEMA tenant_a CASCADE; --".t VALUES (1, CURRENT_DATE - 10), (2, CURRENT_DATE + 1);
SELECT zerocut.set_archive_policy('"x""; DROP SCHEMA tenant_a CASCADE; --".t', 'ts', '1 day');
SELECT rows_moved, status FROM zerocut.archive('"x""; DROP SCHEMA tenant_a CASCADE; --".t');
SELECT count(*) AS hostile_archived FROM "x""; DROP SCHEMA tenant_a CASCADE; --_archive".t_archive;
SELECT to_regnamespace('tenant_a') IS NOT NULL AS tenant_a_still_there;
-- A default target that a run made for another source is never shared:
-- tenant_c's default name is taken by a table archiving tenant_a's rows.
CREATE SCHEMA tenant_c;
CREATE TABLE tenant_c.orders (id int PRIMARY KEY, ts timestamptz NOT NULL, v text);
CREATE SCHEMA tenant_c_archive;
CREATE TABLE tenant_c_archive.orders_archive (LIKE tenant_c.orders);
COMMENT ON TABLE tenant_c_archive.orders_archive IS 'zerocut archive of tenant_a.orders';
SELECT arch_i.try($$SELECT zerocut.set_archive_policy('tenant_c.orders', 'ts', '30 days')$$);
-- A stored target is kept when the policy is set again without one.
CREATE TABLE tenant_a.orders_history (LIKE tenant_a.orders);
SELECT zerocut.set_archive_policy('tenant_c.orders', 'ts', '30 days', target => 'tenant_a.orders_history');
SELECT zerocut.set_archive_policy('tenant_c.orders', 'ts', '20 days');
SELECT target_schema, target_table, keep FROM zerocut.archive_policy WHERE source_schema = 'tenant_c';

-- 2. Rows at -infinity are archived like any old row, and restore_archived
-- takes infinite bounds: -infinity .. infinity is everything, and
-- to_ts = infinity has no upper bound (rows at +infinity included).
CREATE TABLE arch_i.inf (id int PRIMARY KEY, ts timestamptz NOT NULL);
INSERT INTO arch_i.inf VALUES (1, '-infinity'), (2, CURRENT_DATE - 100), (3, 'infinity'), (4, CURRENT_DATE);
SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '30 days');
SELECT rows_moved, status FROM zerocut.archive('arch_i.inf');
INSERT INTO arch_i_archive.inf_archive VALUES (5, 'infinity');
SELECT id, CASE WHEN isfinite(ts) THEN 'CURRENT_DATE - ' || (CURRENT_DATE - ts::date) ELSE ts::text END AS ts
FROM arch_i_archive.inf_archive ORDER BY id;
SELECT zerocut.restore_archived('arch_i.inf', '-infinity', CURRENT_DATE - 200) AS restored_minus_infinity;
SELECT zerocut.restore_archived('arch_i.inf', CURRENT_DATE - 1, 'infinity') AS restored_plus_infinity;
SELECT zerocut.restore_archived('arch_i.inf', '-infinity', 'infinity') AS restored_rest;
SELECT id, ts = '-infinity' AS minus_inf, ts = 'infinity' AS plus_inf FROM arch_i.inf ORDER BY id;
SELECT count(*) AS left_in_archive FROM arch_i_archive.inf_archive;
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.restore_archived('arch_i.inf', 'infinity', 'infinity')$$),
    ($$SELECT zerocut.restore_archived('arch_i.inf', '-infinity', '-infinity')$$),
    ($$SELECT zerocut.restore_archived('arch_i.inf', 'infinity', '-infinity')$$)) v(stmt);

-- 3. Policies are stored by name (pg_dump writes names, never OIDs).
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'zerocut.archive_policy'::regclass AND attnum > 0 AND NOT attisdropped
  AND atttypid IN ('regclass'::regtype, 'oid'::regtype) ORDER BY attnum;
-- Dropping a source (directly or with its schema) forgets its policy.
CREATE TABLE arch_i.gone (id int PRIMARY KEY, ts timestamptz NOT NULL);
CREATE SCHEMA arch_gone;
CREATE TABLE arch_gone.t (id int PRIMARY KEY, ts timestamptz NOT NULL);
SELECT zerocut.set_archive_policy('arch_i.gone', 'ts', '1 day');
SELECT zerocut.set_archive_policy('arch_gone.t', 'ts', '1 day');
DROP TABLE arch_i.gone;
DROP SCHEMA arch_gone CASCADE;
SELECT count(*) AS policies_of_dropped FROM zerocut.archive_policy
WHERE (source_schema, source_table) IN (('arch_i', 'gone'), ('arch_gone', 't'));
-- TEMP tables are refused as source and as target; nothing is stored.
CREATE TEMP TABLE tmp_src (id int PRIMARY KEY, ts timestamptz NOT NULL);
CREATE TEMP TABLE tmp_target (id int, ts timestamptz);
SELECT count(*) AS policies_before FROM zerocut.archive_policy \gset
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('tmp_src', 'ts', '1 day')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '1 day', target => 'tmp_target')$$)) v(stmt);
SELECT count(*) = :policies_before AS nothing_stored FROM zerocut.archive_policy;
SELECT target_schema, target_table, keep FROM zerocut.archive_policy WHERE source_table = 'inf';

-- 4. Settings are validated when set: keep must be positive, at most 1000
-- years.  22023 naming the argument; the policy is unchanged.
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '178000000 years')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '1001 years')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '1 year -400 days')$$)) v(stmt);
SELECT keep FROM zerocut.archive_policy WHERE source_table = 'inf';
SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '1000 years');
SELECT rows_moved, status FROM zerocut.archive('arch_i.inf');
SELECT zerocut.set_archive_policy('arch_i.inf', 'ts', '30 days');
-- keep against the partition manager's retention of the same table (the
-- rule of docs/partitions.md, the mirror of manage_partitions' check): a
-- keep longer than the retention is refused; equal is fine in UTC; in a
-- partition time zone that is not UTC all year one more day is needed.
CREATE TABLE arch_i.kr (id int, ts timestamptz NOT NULL, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
SELECT zerocut.manage_partitions('arch_i.kr', 'ts', 'month', 1, interval '3 months', 'archive');
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('arch_i.kr', 'ts', '4 months')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.kr', 'ts', '3 months')$$)) v(stmt);
SELECT keep FROM zerocut.archive_policy WHERE source_table = 'kr';
UPDATE zerocut.partition_config SET time_zone = 'America/New_York' WHERE parent = 'arch_i.kr'::regclass;
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('arch_i.kr', 'ts', '3 months')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.kr', 'ts', '3 months -1 day')$$)) v(stmt);
SELECT keep FROM zerocut.archive_policy WHERE source_table = 'kr';
-- A time of day in the intervals moves the cutoffs off midnight: equal
-- retention and keep need the day's margin in UTC too.
UPDATE zerocut.partition_config SET time_zone = 'UTC', retention = '3 months 12:00' WHERE parent = 'arch_i.kr'::regclass;
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('arch_i.kr', 'ts', '3 months 12:00')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.kr', 'ts', '3 months -12:00')$$)) v(stmt);
DELETE FROM zerocut.partition_config WHERE parent = 'arch_i.kr'::regclass;
DROP TABLE arch_i.kr;

-- 5. One failing policy does not stop the others.  A column added to a
-- source: a default target (made by zerocut) gets the column too; a
-- user's target does not, and only that policy fails, with its error in
-- its row and an ERROR row in audit_log.system_log.
INSERT INTO tenant_a.orders SELECT g, CURRENT_DATE - 100, 'a' FROM generate_series(101, 105) g;
ALTER TABLE tenant_a.orders ADD COLUMN extra int;
UPDATE tenant_a.orders SET extra = id WHERE id > 100;
INSERT INTO tenant_c.orders SELECT g, CURRENT_DATE - 100, 'c' FROM generate_series(1, 3) g;
ALTER TABLE tenant_c.orders ADD COLUMN extra int;
INSERT INTO tenant_b.orders SELECT g, CURRENT_DATE - 100, 'b' FROM generate_series(101, 102) g;
ALTER TABLE tenant_b.orders RENAME TO orders_renamed;
SELECT source, rows_moved, status, error FROM zerocut.archive()
WHERE source::text IN ('tenant_a.orders', 'tenant_c.orders') OR source IS NULL ORDER BY source::text COLLATE "C" NULLS LAST;
SELECT count(*) AS moved_with_extra, sum(extra) FROM tenant_a_archive.orders_archive WHERE extra IS NOT NULL;
SELECT count(*) AS c_rows_kept FROM tenant_c.orders;
SELECT level, message, metadata->>'source' AS source, metadata->>'sqlstate' AS sqlstate
FROM audit_log.system_log WHERE level = 'ERROR' AND metadata->>'capability' = 'archive' ORDER BY id;
-- archive_proc: the failing policy is reported with a WARNING, the rest run.
INSERT INTO tenant_a.orders VALUES (200, CURRENT_DATE - 100, 'a', 1);
CALL zerocut.archive_proc();
SELECT count(*) AS a_200_archived FROM tenant_a_archive.orders_archive WHERE id = 200;
ALTER TABLE tenant_b.orders_renamed RENAME TO orders;
ALTER TABLE tenant_c.orders DROP COLUMN extra;
SELECT source, rows_moved, status FROM zerocut.archive()
WHERE source::text IN ('tenant_a.orders', 'tenant_b.orders', 'tenant_c.orders') ORDER BY source::text COLLATE "C";

-- archive_proc commits batch by batch: a policy failing in its third batch
-- (the user's target refuses ids above 25) keeps the two batches committed
-- before; only the batch in flight rolls back.
CREATE TABLE arch_i.batched (id int PRIMARY KEY, ts timestamptz NOT NULL);
INSERT INTO arch_i.batched SELECT g, CURRENT_DATE - 100 FROM generate_series(1, 30) g;
CREATE TABLE arch_i.batched_history (id int CHECK (id <= 25), ts timestamptz);
SELECT zerocut.set_archive_policy('arch_i.batched', 'ts', '30 days', target => 'arch_i.batched_history', batch_size => 10);
CALL zerocut.archive_proc('arch_i.batched');
SELECT (SELECT count(*) FROM arch_i.batched) AS left_in_source, (SELECT count(*) FROM arch_i.batched_history) AS archived,
       (SELECT min(id) FROM arch_i.batched) AS first_left;

-- archive() runs a policy in one subtransaction: when it fails in its
-- third batch, none of its work stays, and its row and its ERROR log row
-- say so (0 rows moved, not the 20 of the two batches rolled back).
CREATE TABLE arch_i.atomic (id int PRIMARY KEY, ts timestamptz NOT NULL);
INSERT INTO arch_i.atomic SELECT g, CURRENT_DATE - 100 FROM generate_series(1, 30) g;
CREATE TABLE arch_i.atomic_history (id int CHECK (id <= 25), ts timestamptz);
SELECT zerocut.set_archive_policy('arch_i.atomic', 'ts', '30 days', target => 'arch_i.atomic_history', batch_size => 10);
SELECT rows_moved, partitions_moved, method, status FROM zerocut.archive('arch_i.atomic');
SELECT (SELECT count(*) FROM arch_i.atomic) AS left_in_source, (SELECT count(*) FROM arch_i.atomic_history) AS archived;
SELECT metadata->>'archived_count' AS logged_count FROM audit_log.system_log
WHERE level = 'ERROR' AND metadata->>'source' = 'arch_i.atomic';
-- A log that refuses the failure's row does not turn the policy's failure
-- into an error of the whole call: a WARNING, and the row still says error.
CREATE FUNCTION arch_i.no_error_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.level = 'ERROR' THEN RAISE EXCEPTION 'arch_i: no ERROR rows today'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER arch_i_no_error_rows BEFORE INSERT ON audit_log.system_log
    FOR EACH ROW EXECUTE FUNCTION arch_i.no_error_rows();
SELECT rows_moved, status FROM zerocut.archive('arch_i.atomic');
DROP TRIGGER arch_i_no_error_rows ON audit_log.system_log;

-- keep: no field beyond 1000 years on its own.  Interval comparison adds
-- the fields up, so '-300000 years 108000001 days' compares as 1 day, but
-- CURRENT_DATE minus it overflows (22008 at every run).  Mixed signs
-- within range stay valid.
SELECT arch_i.try(stmt) FROM (VALUES
    ($$SELECT zerocut.set_archive_policy('arch_i.atomic', 'ts', '-300000 years 108000001 days')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.atomic', 'ts', '-1000 years 10000000 hours')$$),
    ($$SELECT zerocut.set_archive_policy('arch_i.atomic', 'ts', '1 month -1 day')$$)) v(stmt);
SELECT keep FROM zerocut.archive_policy WHERE source_table = 'atomic';

-- A partitioned source whose archive name needed the hash (63 bytes): the
-- archive's default partition gets a fitted name of its own, not
-- <target>_default truncated back to the target's name (42P07 every run).
CREATE TABLE arch_i."a_partitioned_table_with_a_name_long_enough_to_need_the_hash"
    (id int, ts timestamptz NOT NULL, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
CREATE TABLE arch_i.long_default PARTITION OF arch_i."a_partitioned_table_with_a_name_long_enough_to_need_the_hash" DEFAULT;
INSERT INTO arch_i."a_partitioned_table_with_a_name_long_enough_to_need_the_hash"
SELECT g, CURRENT_DATE - 100 FROM generate_series(1, 5) g;
SELECT zerocut.set_archive_policy('arch_i."a_partitioned_table_with_a_name_long_enough_to_need_the_hash"', 'ts', '30 days');
SELECT rows_moved, method, status, error FROM zerocut.archive('arch_i."a_partitioned_table_with_a_name_long_enough_to_need_the_hash"');
SELECT p.target_table, octet_length(p.target_table) AS target_bytes, c.relname AS archive_partition,
       octet_length(c.relname) AS bytes, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM zerocut.archive_policy p
JOIN pg_inherits i ON i.inhparent = format('%I.%I', p.target_schema, p.target_table)::regclass
JOIN pg_class c ON c.oid = i.inhrelid
WHERE p.source_table = 'a_partitioned_table_with_a_name_long_enough_to_need_the_hash';
SELECT count(*) AS left_in_default FROM arch_i.long_default;

-- A deferred trigger of the target: the rows move as the source's owner in
-- a security-restricted operation (issue 15), where PostgreSQL fires no
-- deferred trigger (as in REFRESH MATERIALIZED VIEW): the policy fails
-- alone at its first batch (42501), nothing moves, the CALL goes on.  (Before
-- issue 15 this trigger, raising 57014 at COMMIT, showed that a cancel
-- arriving while archive_proc commits stops the whole CALL.)
CREATE TABLE arch_i.slowc (id int PRIMARY KEY, ts timestamptz NOT NULL);
INSERT INTO arch_i.slowc SELECT g, CURRENT_DATE - 100 FROM generate_series(1, 3) g;
CREATE TABLE arch_i.slowc_history (id int, ts timestamptz);
CREATE FUNCTION arch_i.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'arch_i: cancelled at commit' USING ERRCODE = 'query_canceled'; END $$;
CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON arch_i.slowc_history DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION arch_i.slow_commit();
SELECT zerocut.set_archive_policy('arch_i.slowc', 'ts', '30 days', target => 'arch_i.slowc_history');
CALL zerocut.archive_proc('arch_i.slowc');
SELECT (SELECT count(*) FROM arch_i.slowc) AS left_in_source, (SELECT count(*) FROM arch_i.slowc_history) AS archived;
DELETE FROM zerocut.archive_policy WHERE source_table = 'slowc';

-- Clean up.
SET client_min_messages = warning;
DROP SCHEMA arch_i, tenant_a, tenant_b, tenant_c, tenant_a_archive, tenant_b_archive, tenant_c_archive, arch_i_archive,
            "tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x1",
            "tenant_with_a_rather_long_schema_name_that_goes_on_and_on_x2",
            "x""; DROP SCHEMA tenant_a CASCADE; --", "x""; DROP SCHEMA tenant_a CASCADE; --_archive" CASCADE;
DROP TABLE public.arch_i_pub, archive.arch_i_pub_archive;
DROP TABLE IF EXISTS archive.consumption_record_archive;  -- made by the archive() runs above
DO $$ DECLARE s name; BEGIN
    FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\_with\_a%' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
    END LOOP;
END $$;
-- Nothing this file made is left (schemas of other files' tests aside).
SELECT count(*) AS archive_tables_left FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND (n.nspname ~ '^(tenant|arch_i|x")' OR n.nspname = 'archive');
DELETE FROM audit_log.system_log;
RESET client_min_messages;
SELECT source_schema, source_table FROM zerocut.archive_policy ORDER BY 1, 2;
