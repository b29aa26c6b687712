-- Partition manager, part 2: convert_to_partitioned() keeps everything of
-- a plain table; run_maintenance_proc(); the health view.
SET client_min_messages = warning;
CREATE SCHEMA pc;
CREATE FUNCTION pc.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE ROLE pc_reader;

-- An older install's plain usage_stats, with everything a table can carry.
CREATE TABLE pc.workspace (id int PRIMARY KEY);
INSERT INTO pc.workspace SELECT generate_series(1, 5);
CREATE TABLE pc.usage_stats (
    id          bigserial,
    workspace_id int NOT NULL REFERENCES pc.workspace (id),
    date        date NOT NULL,
    api_calls   int NOT NULL DEFAULT 0 CHECK (api_calls >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, date),
    UNIQUE (workspace_id, date)
);
CREATE INDEX idx_pc_usage_date ON pc.usage_stats (date);
COMMENT ON TABLE pc.usage_stats IS 'daily usage';
GRANT SELECT ON pc.usage_stats TO pc_reader;
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON pc.usage_stats FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at();
INSERT INTO pc.usage_stats (workspace_id, date, api_calls)
SELECT 1 + g % 5, DATE '2024-01-01' + g / 5, g FROM generate_series(0, 999) g;
-- A table referencing it (a foreign key into the converted table).
CREATE TABLE pc.usage_note (usage_id bigint, usage_date date, note text,
                            FOREIGN KEY (usage_id, usage_date) REFERENCES pc.usage_stats (id, date));
INSERT INTO pc.usage_note VALUES (1, '2024-01-01', 'first');
CREATE TEMP TABLE before AS SELECT count(*) AS n, sum(api_calls) AS calls, max(id) AS max_id FROM pc.usage_stats;
SELECT relfilenode AS old_heap FROM pg_class WHERE oid = 'pc.usage_stats'::regclass \gset

SELECT zerocut.convert_to_partitioned('pc.usage_stats', 'date');

-- Same name, now partitioned; the old heap is the legacy partition (not copied).
SELECT c.relkind, pg_get_partkeydef(c.oid) AS partition_key, obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c WHERE c.oid = 'pc.usage_stats'::regclass;
SELECT relfilenode = :old_heap AS legacy_is_old_heap,
       substring(pg_get_expr(relpartbound, oid) FROM $$FROM \('([^']*)'\)$$)::date AS legacy_from,
       substring(pg_get_expr(relpartbound, oid) FROM $$TO \('([^']*)'\)$$)::date
           = date_trunc('month', now() + interval '1 month')::date AS legacy_to_end_of_this_month
FROM pg_class WHERE oid = 'pc.usage_stats_legacy'::regclass;
SELECT (SELECT count(*) FROM pc.usage_stats) = n AS same_rows, (SELECT sum(api_calls) FROM pc.usage_stats) = calls AS same_values
FROM before;
-- Default partition and partitions ahead of the legacy range.
SELECT count(*) FILTER (WHERE pg_get_expr(relpartbound, oid) = 'DEFAULT') AS defaults,
       count(*) FILTER (WHERE relname ~ '^usage_stats_\d{4}_\d{2}$') AS monthly
FROM pg_class WHERE relispartition AND relnamespace = 'pc'::regnamespace AND relname LIKE 'usage\_stats\_%';
SELECT parent, control_column, granularity FROM zerocut.partition_config WHERE parent = 'pc.usage_stats'::regclass;
-- Defaults, constraints, indexes (same names), foreign keys both ways, grants, trigger, sequence.
SELECT column_name, column_default FROM information_schema.columns
WHERE table_schema = 'pc' AND table_name = 'usage_stats' AND column_default IS NOT NULL ORDER BY 1;
SELECT conname, contype, pg_get_constraintdef(oid) AS definition FROM pg_constraint
WHERE conrelid = 'pc.usage_stats'::regclass ORDER BY conname;
SELECT indexrelid::regclass::text AS index FROM pg_index WHERE indrelid = 'pc.usage_stats'::regclass ORDER BY 1;
SELECT conname, confrelid::regclass AS references FROM pg_constraint WHERE conrelid = 'pc.usage_note'::regclass AND contype = 'f' AND conparentid = 0;
SELECT has_table_privilege('pc_reader', 'pc.usage_stats', 'SELECT') AS reader_selects,
       has_table_privilege('pc_reader', 'pc.usage_stats', 'INSERT') AS reader_inserts;
SELECT tgrelid::regclass::text AS tbl FROM pg_trigger WHERE tgname = 'touch_updated_at'
  AND tgrelid IN ('pc.usage_stats'::regclass, 'pc.usage_stats_legacy'::regclass, 'pc.usage_stats_default'::regclass) ORDER BY 1;
SELECT pg_get_serial_sequence('pc.usage_stats', 'id') AS owned_sequence;
\set VERBOSITY terse
INSERT INTO pc.usage_stats (workspace_id, date) VALUES (99, '2024-02-01');            -- FK out still enforced
INSERT INTO pc.usage_stats (workspace_id, date, api_calls) VALUES (1, '2024-02-02', -1); -- CHECK kept
INSERT INTO pc.usage_stats (workspace_id, date) VALUES (1, '2024-01-01');             -- UNIQUE kept
INSERT INTO pc.usage_note VALUES (424242, '2024-01-01', 'dangling');                  -- FK in still enforced
DELETE FROM pc.usage_stats WHERE id = 1;                                              -- referenced row
-- New rows get new ids and land where they belong.
INSERT INTO pc.usage_stats (workspace_id, date) VALUES (2, CURRENT_DATE + 40) RETURNING id > (SELECT max_id FROM before) AS new_id;
SELECT tableoid::regclass = ('pc.usage_stats_' || to_char(CURRENT_DATE + 40, 'YYYY_MM'))::regclass AS in_its_month
FROM pc.usage_stats WHERE date = CURRENT_DATE + 40;
UPDATE pc.usage_stats SET api_calls = 7, updated_at = '2000-01-01' WHERE id = 2 RETURNING updated_at > '2001-01-01' AS trigger_fired;
-- Logged, with the lock times measured.
SELECT level, message, metadata->>'detail' ~ 'catalog work under ACCESS EXCLUSIVE [0-9.]+ ms' AS lock_time_reported
FROM audit_log.system_log WHERE metadata->>'action' = 'convert';

-- Identity columns: the new parent's identity continues the old numbering
-- under the old sequence name.
CREATE TABLE pc.events (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, PRIMARY KEY (id, at));
INSERT INTO pc.events (at) SELECT TIMESTAMPTZ '2024-03-01 12:00+00' + g * interval '1 day' FROM generate_series(1, 50) g;
SELECT zerocut.convert_to_partitioned('pc.events', 'at', 'quarter');
INSERT INTO pc.events (at) VALUES (now()) RETURNING id;
SELECT pg_get_serial_sequence('pc.events', 'id') AS identity_sequence,
       (SELECT attidentity FROM pg_attribute WHERE attrelid = 'pc.events'::regclass AND attname = 'id') AS identity_kind;

-- A name that needs quotes: each index keeps its raw name plus "_legacy",
-- quoted once (was Conv ""8""_pkey_legacy, the quote_ident output
-- un-quoted by hand).
CREATE TABLE pc."Conv ""8""" (id int, d date NOT NULL, PRIMARY KEY (id, d));
CREATE INDEX "Conv ""8"" by d" ON pc."Conv ""8""" (d);
INSERT INTO pc."Conv ""8""" VALUES (1, CURRENT_DATE);
SELECT zerocut.convert_to_partitioned('pc."Conv ""8"""', 'd');
SELECT i.indrelid::regclass AS tbl, c.relname AS index_name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid IN ('pc."Conv ""8"""'::regclass, 'pc."Conv ""8""_legacy"'::regclass) ORDER BY 2;
SELECT count(*) AS found FROM pc."Conv ""8""" WHERE d = CURRENT_DATE;

-- Errors: nothing changes.
CREATE TABLE pc.no_key_col (id int PRIMARY KEY, d date NOT NULL);
CREATE TABLE pc.with_nulls (d date);
INSERT INTO pc.with_nulls VALUES (NULL), ('2024-01-01');
CREATE TABLE pc.viewed (d date NOT NULL);
CREATE VIEW pc.v AS SELECT * FROM pc.viewed;
CREATE TABLE pc.texty (d text);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned(NULL, 'd')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.viewed', NULL)$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.viewed', 'd', NULL)$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.viewed', 'd', 'hourly')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.usage_stats', 'date')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.v', 'd')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.viewed', 'x"; DROP TABLE pc.viewed; --')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.texty', 'd')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.no_key_col', 'd')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.with_nulls', 'd')$$);
SELECT pc.try($$SELECT zerocut.convert_to_partitioned('pc.viewed', 'd')$$);
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'pc'::regnamespace
  AND relname IN ('no_key_col', 'with_nulls', 'viewed', 'texty') ORDER BY 1;
SELECT count(*) AS leftover_bound_checks FROM pg_constraint WHERE conname LIKE '%legacy_bound' AND connamespace = 'pc'::regnamespace
  AND conrelid NOT IN ('pc.usage_stats_legacy'::regclass, 'pc.events_legacy'::regclass, 'pc."Conv ""8""_legacy"'::regclass);

-- run_maintenance_proc(): every managed parent, one transaction each.
DROP TABLE pc.usage_note;
DROP TABLE pc.usage_stats_default;
CALL zerocut.run_maintenance_proc();
SELECT count(*) AS default_back FROM pg_class WHERE oid = to_regclass('pc.usage_stats_default');
SELECT parent, partitions_ahead >= 3 AS premade, rows_in_default, retention_due, last_outcome
FROM zerocut.partition_health WHERE parent = 'pc.usage_stats'::regclass;

-- Clean up.
DELETE FROM zerocut.partition_config WHERE parent::text LIKE 'pc.%';
DELETE FROM audit_log.system_log WHERE metadata->>'capability' = 'partitions';
DROP SCHEMA pc CASCADE;
DROP ROLE pc_reader;
