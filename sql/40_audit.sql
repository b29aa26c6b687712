-- Audit trigger (issue 7): complete change history in audit_log.system_log
-- with redaction, delta rows, statement mode and an append-only log.
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
TRUNCATE audit_log.system_log;
-- What a test looks at: the log rows of one table, without volatile columns
-- and without who/where members (relid, xid, session_user, current_user,
-- application_name: sql/42_audit_security.sql tests them).
CREATE FUNCTION audit_rows(tbl text) RETURNS TABLE (message text, metadata jsonb, user_id int)
LANGUAGE sql AS $$
    SELECT message, metadata - '{relid,xid,session_user,current_user,application_name}'::text[], user_id
    FROM audit_log.system_log WHERE metadata ->> 'table' = tbl ORDER BY id
$$;

-- ---------------------------------------------------------------------------
-- Every operation, every kind of value: NULLs, arrays, composite and domain
-- types, bytea, numeric NaN, a toasted 1 MB text, a dropped and a generated
-- column.  Row mode, changed_only (the defaults).
CREATE TYPE audit_pair AS (a int, b text);
CREATE DOMAIN audit_positive AS int CHECK (VALUE > 0);
CREATE TABLE kinds (
    id int PRIMARY KEY, gone text, label text, tags text[], pair audit_pair, qty audit_positive,
    raw bytea, amount numeric, ratio float8, flag boolean, doc jsonb, day date, big text,
    doubled int GENERATED ALWAYS AS (qty * 2) STORED);
ALTER TABLE kinds DROP COLUMN gone;
SELECT zerocut.enable_audit('kinds');
INSERT INTO kinds (id, label, tags, pair, qty, raw, amount, ratio, flag, doc, day, big)
VALUES (1, 'one', ARRAY['a', NULL, 'c"q'], ROW(1, 'x'), 5, '\x00ff', 'NaN', 0.5, true,
        '{"k": [1, {"n": null}]}', '1998-01-31', NULL),
       (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE kinds SET label = 'uno', qty = 6 WHERE id = 1;
UPDATE kinds SET big = repeat('0123456789abcdef', 65536) WHERE id = 2;   -- 1 MB, toasted
UPDATE kinds SET label = 'two' WHERE id = 2;                              -- big unchanged: not logged
DELETE FROM kinds WHERE id = 1;
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('kinds') WHERE length(metadata::text) < 2000;
SELECT message, length(metadata #>> '{new_data,big}') AS big_length,
       metadata #>> '{new_data,big}' = repeat('0123456789abcdef', 65536) AS big_intact
FROM audit_rows('kinds') WHERE length(metadata::text) >= 2000;
-- An UPDATE that changes nothing writes no row.
SELECT count(*) AS before FROM audit_rows('kinds') \gset
UPDATE kinds SET label = label;
SELECT count(*) - :before AS rows_for_noop_update FROM audit_rows('kinds');
-- changed_only => false: full old and new rows, every UPDATE logged (the seed's shape).
SELECT zerocut.enable_audit('kinds', changed_only => false);
UPDATE kinds SET label = label WHERE id = 2;
SELECT metadata -> 'old_data' = metadata -> 'new_data' AS full_rows_equal,
       (SELECT count(*) FROM jsonb_object_keys(metadata -> 'new_data')) AS columns
FROM (SELECT row_number() OVER () AS n, * FROM audit_rows('kinds')) r ORDER BY n DESC LIMIT 1;
TRUNCATE kinds;
SELECT message, metadata FROM audit_rows('kinds') WHERE metadata ->> 'operation' = 'TRUNCATE';

-- ---------------------------------------------------------------------------
-- Redaction: excluded columns and zerocut.audit_redact_columns (default
-- password_hash) never reach the log in clear; a change to one is still a
-- change, without its value; a change to excluded columns alone is no row.
SHOW zerocut.audit_redact_columns;
CREATE TABLE accounts (id int PRIMARY KEY, name text, password_hash text, api_secret text, note text);
SELECT zerocut.enable_audit('accounts', exclude_columns => ARRAY['note']);
INSERT INTO accounts VALUES (1, 'ann', 'hash-CLEAR-1', 'secret-CLEAR-1', 'note-CLEAR-1');
UPDATE accounts SET password_hash = 'hash-CLEAR-2';
UPDATE accounts SET note = 'note-CLEAR-2';                -- excluded only: no row
UPDATE accounts SET note = 'note-CLEAR-3', name = 'anne';  -- recorded, note masked
SET zerocut.audit_redact_columns = 'password_hash, API_SECRET';
UPDATE accounts SET api_secret = 'secret-CLEAR-2';
DELETE FROM accounts;
RESET zerocut.audit_redact_columns;
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('accounts');
-- Statement mode redacts the same way.
SELECT zerocut.enable_audit('accounts', exclude_columns => ARRAY['note'], mode => 'statement');
INSERT INTO accounts VALUES (2, 'bob', 'hash-CLEAR-4', 'x', 'note-CLEAR-4');
UPDATE accounts SET note = 'note-CLEAR-5';                -- excluded only: no row
UPDATE accounts SET password_hash = 'hash-CLEAR-5';
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('accounts') OFFSET 4;
-- The one clear value: api_secret as inserted before it was listed in the setting.
SELECT metadata #>> '{new_data,api_secret}' AS only_clear_value FROM audit_log.system_log WHERE metadata::text LIKE '%CLEAR%';
-- The setting is checked and only a superuser may change it.
SET zerocut.audit_redact_columns = '"unterminated';
SELECT name, context FROM pg_settings WHERE name = 'zerocut.audit_redact_columns';

-- ---------------------------------------------------------------------------
-- app.current_user_id: NULL when unset, '' or not a positive integer; never an error.
CREATE TABLE who (id int PRIMARY KEY, v int);
SELECT zerocut.enable_audit('who');
INSERT INTO who VALUES (1, 0);
SET app.current_user_id = '';
UPDATE who SET v = 1;
SET app.current_user_id = 'abc';
UPDATE who SET v = 2;
SET app.current_user_id = '99999999999';
UPDATE who SET v = 3;
SET app.current_user_id = '42';
UPDATE who SET v = 4;
RESET app.current_user_id;
BEGIN;
SET LOCAL app.current_user_id = '7';
UPDATE who SET v = 5;
COMMIT;
UPDATE who SET v = 6;   -- after SET LOCAL ended the setting is '': NULL, and no error
SET app.current_user_id = '-1';
UPDATE who SET v = 7;   -- not a positive id: NULL, as zerocut.current_app_user_id() reads it
RESET app.current_user_id;
SELECT metadata #>> '{new_data,v}' AS v, user_id FROM audit_rows('who');

-- ---------------------------------------------------------------------------
-- Statement mode writes the same rows as row mode (tested for equality).
CREATE TABLE same_row (id int PRIMARY KEY, a text, b int, c jsonb, d int[]);
CREATE TABLE same_stmt (d int[], c jsonb, b int, a text, id int PRIMARY KEY);  -- other column order
SELECT zerocut.enable_audit('same_row', exclude_columns => ARRAY['c']);
SELECT zerocut.enable_audit('same_stmt', exclude_columns => ARRAY['c'], mode => 'statement');
SET app.current_user_id = '5';
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['same_row', 'same_stmt'] LOOP
        EXECUTE format('INSERT INTO %I (id, a, b, c, d) SELECT g, ''a'' || g, g, jsonb_build_object(''g'', g), ARRAY[g] FROM generate_series(1, 50) g', t);
        EXECUTE format('UPDATE %I SET b = b + 1 WHERE id %% 3 = 0', t);
        EXECUTE format('UPDATE %I SET c = ''{}'' WHERE id %% 5 = 0', t);
        EXECUTE format('UPDATE %I SET a = NULL, c = NULL WHERE id %% 7 = 0', t);
        EXECUTE format('UPDATE %I SET id = id + 100 WHERE id = 1', t);
        EXECUTE format('INSERT INTO %I (id, b) VALUES (2, -1) ON CONFLICT (id) DO UPDATE SET b = EXCLUDED.b', t);
        EXECUTE format('DELETE FROM %I WHERE id > 40', t);
        EXECUTE format('TRUNCATE %I', t);
    END LOOP;
END $$;
RESET app.current_user_id;
CREATE TEMP TABLE compared AS
SELECT r.n, r.metadata - 'table' AS row_mode, s.metadata - 'table' AS statement_mode,
       r.message = replace(s.message, 'same_stmt', 'same_row') AND r.user_id = s.user_id AS same_message_and_user
FROM (SELECT row_number() OVER () AS n, * FROM audit_rows('same_row')) r
FULL JOIN (SELECT row_number() OVER () AS n, * FROM audit_rows('same_stmt')) s USING (n);
SELECT count(*) AS rows_compared, count(*) FILTER (WHERE row_mode = statement_mode AND same_message_and_user) AS equal
FROM compared;
SELECT metadata ->> 'operation' AS operation, count(*) FROM audit_rows('same_row') GROUP BY 1 ORDER BY 1;
SELECT metadata - 'schema' - 'table' AS pk_change FROM audit_rows('same_row') WHERE metadata #>> '{pk,id}' = '101';

-- ---------------------------------------------------------------------------
-- Partitioned tables: one trigger set on the parent, rows named after it.
CREATE TABLE usage (id int, day date, calls int, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE usage_2026_01 PARTITION OF usage FOR VALUES FROM ('1998-01-01') TO ('1998-02-01');
CREATE TABLE usage_2026_02 (calls int, day date NOT NULL, id int NOT NULL);  -- other layout
ALTER TABLE usage ATTACH PARTITION usage_2026_02 FOR VALUES FROM ('1998-02-01') TO ('1998-03-01');
SELECT zerocut.enable_audit('usage');
SELECT tgrelid::regclass AS tbl, tgname FROM pg_trigger
WHERE tgname LIKE 'zerocut_audit%' AND tgparentid = 0 AND tgrelid::regclass::text LIKE 'usage%' ORDER BY 1, 2;
INSERT INTO usage VALUES (1, '1998-01-15', 10), (2, '1998-02-15', 20);
INSERT INTO usage_2026_02 VALUES (30, '1998-02-16', 3);     -- straight into a partition
UPDATE usage SET calls = calls + 1 WHERE id = 1;
UPDATE usage SET day = '1998-02-20' WHERE id = 1;           -- moves between partitions
DELETE FROM usage WHERE id = 3;
TRUNCATE usage;
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('usage');
SELECT count(*) AS rows_named_after_partitions FROM audit_log.system_log WHERE metadata ->> 'table' LIKE 'usage\_%';
-- Statement mode on the partitioned parent.
SELECT zerocut.enable_audit('usage', mode => 'statement');
INSERT INTO usage VALUES (5, '1998-01-05', 1), (6, '1998-02-06', 2);
UPDATE usage SET calls = 0;
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('usage') OFFSET 9;

-- ---------------------------------------------------------------------------
-- Transactions: a rolled-back change leaves no log row; a rolled-back
-- savepoint drops its rows only.
CREATE TABLE tx (id int PRIMARY KEY, v int);
SELECT zerocut.enable_audit('tx');
BEGIN;
INSERT INTO tx VALUES (1, 1);
ROLLBACK;
SELECT count(*) AS rows_after_rollback FROM audit_rows('tx');
BEGIN;
INSERT INTO tx VALUES (1, 1);
SAVEPOINT s;
INSERT INTO tx VALUES (2, 2);
ROLLBACK TO s;
INSERT INTO tx VALUES (3, 3);
COMMIT;
SELECT metadata #>> '{pk,id}' AS id FROM audit_rows('tx');
-- A failing statement inside a PL/pgSQL exception block: its rows go, the
-- outer statement's rows stay.
CREATE FUNCTION tx_insert_and_fail(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO tx VALUES (i, i);
        INSERT INTO tx VALUES (i, i);   -- duplicate key
    EXCEPTION WHEN unique_violation THEN
        RETURN -1;
    END;
    RETURN i;
END $$;
UPDATE tx SET v = tx_insert_and_fail(10) WHERE id = 1;
SELECT metadata ->> 'operation' AS operation, metadata #>> '{pk,id}' AS id FROM audit_rows('tx');
-- The log's rows are there when the statement ends, for the next one to read.
BEGIN;
INSERT INTO tx VALUES (20, 20);
SELECT count(*) AS visible_in_same_transaction FROM audit_rows('tx') WHERE metadata #>> '{pk,id}' = '20';
COMMIT;

-- ---------------------------------------------------------------------------
-- The seed's own usage, the function as a plain row trigger, is refused
-- for a table enable_audit() did not record (anyone who could create it
-- could forge rows: sql/42_audit_security.sql); enable_audit() adds its own.
CREATE TABLE seedlike (id serial PRIMARY KEY, name text);
CREATE TRIGGER audit_changes AFTER INSERT OR UPDATE OR DELETE ON seedlike
    FOR EACH ROW EXECUTE FUNCTION zerocut.audit_trigger_function();
INSERT INTO seedlike (name) VALUES ('a'), ('b');
DROP TRIGGER audit_changes ON seedlike;
SELECT zerocut.enable_audit('seedlike');
INSERT INTO seedlike (name) VALUES ('a'), ('b');
UPDATE seedlike SET name = 'c' WHERE id = 4;
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('seedlike');
DROP TABLE seedlike;
DELETE FROM zerocut.audit_config WHERE table_name = 'seedlike';

-- A table with a hostile name and no primary key: quoted everywhere; the
-- whole old row identifies it.
CREATE TABLE "x""; DROP TABLE tx; --" ("a b" int, v text);
SELECT zerocut.enable_audit('"x""; DROP TABLE tx; --"', exclude_columns => ARRAY['v']);
INSERT INTO "x""; DROP TABLE tx; --" VALUES (1, 'q');
UPDATE "x""; DROP TABLE tx; --" SET "a b" = 2;
SELECT message, metadata - 'schema' AS metadata FROM audit_rows('x"; DROP TABLE tx; --');
SELECT count(*) AS tx_still_there FROM tx;

-- ---------------------------------------------------------------------------
-- A date/time value is written as to_jsonb() writes it under the TimeZone of
-- the moment, also when the same value repeats (the trigger reuses its last
-- conversion only under the same TimeZone).
CREATE TABLE tz_audit (id int PRIMARY KEY, at timestamptz, day date);
SELECT zerocut.enable_audit('tz_audit');
SET TimeZone = 'UTC';
INSERT INTO tz_audit VALUES (1, '1998-01-01 12:00:00+00', '1998-01-01'), (2, '1998-01-01 12:00:00+00', '1998-01-01');
SET TimeZone = 'Asia/Tokyo';
INSERT INTO tz_audit VALUES (3, '1998-01-01 12:00:00+00', '1998-01-01');
SELECT metadata #>> '{pk,id}' AS id, metadata #>> '{new_data,at}' AS at, metadata #>> '{new_data,day}' AS day,
       metadata -> 'new_data' = (SELECT to_jsonb(t) FROM tz_audit t WHERE t.id = (metadata #>> '{pk,id}')::int) AS as_to_jsonb_now
FROM audit_log.system_log WHERE metadata @> '{"table": "tz_audit"}' ORDER BY id;
RESET TimeZone;

-- audit_history(): one row's history in order, served by the GIN index.
SELECT id > 0 AS has_id, level, message, metadata ->> 'operation' AS operation, user_id
FROM zerocut.audit_history('who', '{"id": 1}');
SELECT count(*) AS history_of_moved_row FROM zerocut.audit_history('usage', '{"id": 1, "day": "1998-02-20"}');
SELECT count(*) AS no_history FROM zerocut.audit_history('who', '{"id": 999}');
-- After ALTER ... TYPE on the log's columns the history still comes back in
-- the function's own types (0.1.0 put the log's tuples into its result
-- as they were: user_id as text read back as 50 for 42, id as numeric
-- crashed the backend).
BEGIN;
ALTER TABLE audit_log.system_log ALTER COLUMN user_id TYPE text, ALTER COLUMN id TYPE numeric,
    ALTER COLUMN level TYPE text;
SELECT id > 0 AS has_id, level, message, metadata ->> 'operation' AS operation, user_id
FROM zerocut.audit_history('who', '{"id": 1}');
ROLLBACK;
-- History lookup (the query audit_history runs) is served by the GIN index
-- (operator class jsonb_log_ops) on every partition of the log
-- (which partitions exist depends on today's date, so count plan nodes).
SET enable_seqscan = off;
CREATE FUNCTION pg_temp.history_plan() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXPLAIN (COSTS OFF)
        SELECT id FROM audit_log.system_log
        WHERE metadata @> jsonb_build_object('schema', 'public', 'table', 'who', 'pk', '{"id": 1}'::jsonb);
END $$;
SELECT count(*) FILTER (WHERE line ~ 'Bitmap Index Scan on system_log_\w+_metadata_idx') > 0 AS uses_metadata_index,
       count(*) FILTER (WHERE line ~ 'Seq Scan') AS seq_scans
FROM pg_temp.history_plan() AS line;
RESET enable_seqscan;

-- ---------------------------------------------------------------------------
-- enable_audit() is idempotent; disable_audit() keeps the log rows.
SELECT string_agg(oid::text, ',' ORDER BY oid) AS triggers_before FROM pg_trigger WHERE tgrelid = 'who'::regclass \gset
SELECT zerocut.enable_audit('who');
SELECT string_agg(oid::text, ',' ORDER BY oid) = :'triggers_before' AS unchanged FROM pg_trigger WHERE tgrelid = 'who'::regclass;
SELECT table_name, mode, exclude_columns, changed_only FROM zerocut.audit_config WHERE schema_name = 'public' ORDER BY 1;
SELECT count(*) AS log_rows_before FROM audit_rows('who') \gset
SELECT zerocut.disable_audit('who');
UPDATE who SET v = 100;
SELECT count(*) = :log_rows_before AS log_kept_and_not_growing FROM audit_rows('who');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'who'::regclass;
SELECT zerocut.disable_audit('who');

-- ---------------------------------------------------------------------------
-- The log writer: rows go through the table access method (direct path)
-- or, with zerocut.audit_direct_insert off or a log the writer does not
-- know, through an INSERT statement (SQL path).  The same rows either way,
-- in row and statement mode.
SHOW zerocut.audit_direct_insert;
CREATE TABLE path_direct (id int PRIMARY KEY, v text, n numeric, tags text[]);
CREATE TABLE path_sql (LIKE path_direct INCLUDING ALL);
CREATE TABLE path_direct_st (LIKE path_direct INCLUDING ALL);
CREATE TABLE path_sql_st (LIKE path_direct INCLUDING ALL);
SELECT zerocut.enable_audit('path_direct'), zerocut.enable_audit('path_sql'),
       zerocut.enable_audit('path_direct_st', mode => 'statement'), zerocut.enable_audit('path_sql_st', mode => 'statement');
CREATE FUNCTION path_changes(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I SELECT g, ''v'' || g, g / 3.0, ARRAY[g::text, NULL] FROM generate_series(1, 2500) g', tbl);
    -- Toasted metadata in the middle of a multi-row batch: compressible and not.
    EXECUTE format('UPDATE %I SET v = CASE id WHEN 10 THEN repeat(''z'', 300000)
                       ELSE (SELECT string_agg(md5(i::text), '''') FROM generate_series(1, 4000) i) END
                    WHERE id IN (10, 11)', tbl);
    EXECUTE format('UPDATE %I SET v = upper(v) WHERE id %% 7 = 0', tbl);
    EXECUTE format('INSERT INTO %I VALUES (9999, NULL, NULL, NULL)', tbl);
    EXECUTE format('DELETE FROM %I WHERE id %% 5 = 0', tbl);
END $$;
BEGIN;
SET LOCAL app.current_user_id = '7';
SELECT path_changes('path_direct'), path_changes('path_direct_st');
SET LOCAL zerocut.audit_direct_insert = off;
SELECT path_changes('path_sql'), path_changes('path_sql_st');
-- Level INFO and created_at = now() (CURRENT_TIMESTAMP) on both paths.
SELECT metadata ->> 'table' AS tbl, count(*) AS log_rows, bool_and(level = 'INFO' AND created_at = now()) AS info_now
FROM audit_log.system_log WHERE metadata ->> 'table' LIKE 'path\_%' GROUP BY 1 ORDER BY 1;
COMMIT;
CREATE FUNCTION path_log(tbl text) RETURNS TABLE (n bigint, message text, metadata jsonb, user_id int)
LANGUAGE sql AS $$
    SELECT row_number() OVER (ORDER BY id), replace(message, tbl, 't'), metadata - '{table,relid,xid}'::text[], user_id
    FROM audit_log.system_log WHERE metadata ->> 'table' = tbl
$$;
SELECT t AS tbl,
       (SELECT count(*) FROM (SELECT * FROM path_log('path_direct') EXCEPT SELECT * FROM path_log(t)) d)
     + (SELECT count(*) FROM (SELECT * FROM path_log(t) EXCEPT SELECT * FROM path_log('path_direct')) d) AS rows_differing
FROM unnest(ARRAY['path_sql', 'path_direct_st', 'path_sql_st']) AS t;
-- Statements with more metadata than one write batch (4 MB): several
-- batches, with the block kept across batches (4,096 rows or more) and
-- without it (fewer, larger rows).  Statement mode logs what row mode logs,
-- through the log writer and through the SQL path (one jsonb[] per batch).
CREATE TABLE big_row (id int PRIMARY KEY, v text);
CREATE TABLE big_st (LIKE big_row INCLUDING ALL);
CREATE TABLE big_st_sql (LIKE big_row INCLUDING ALL);
SELECT zerocut.enable_audit('big_row'), zerocut.enable_audit('big_st', mode => 'statement'),
       zerocut.enable_audit('big_st_sql', mode => 'statement');
CREATE FUNCTION big_changes(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 5000) g', tbl);
    EXECUTE format('INSERT INTO %I SELECT g, repeat(md5(g::text), 3000) FROM generate_series(70001, 70060) g', tbl);
    EXECUTE format('UPDATE %I SET v = v || ''!''', tbl);
    EXECUTE format('DELETE FROM %I', tbl);
END $$;
SET work_mem = '64kB';  -- the transition tables spill to disk whatever the default
SELECT big_changes('big_row'), big_changes('big_st');
BEGIN;
SET LOCAL zerocut.audit_direct_insert = off;
SELECT big_changes('big_st_sql');
COMMIT;
RESET work_mem;
SELECT t AS tbl, (SELECT count(*) FROM path_log(t)) AS log_rows,
       (SELECT count(*) FROM (SELECT * FROM path_log('big_row') EXCEPT SELECT * FROM path_log(t)) d)
     + (SELECT count(*) FROM (SELECT * FROM path_log(t) EXCEPT SELECT * FROM path_log('big_row')) d) AS rows_differing
FROM unnest(ARRAY['big_row', 'big_st', 'big_st_sql']) AS t;
SELECT zerocut.disable_audit('big_row'), zerocut.disable_audit('big_st'), zerocut.disable_audit('big_st_sql');
DROP TABLE big_row, big_st, big_st_sql;
DROP FUNCTION big_changes(text);
-- A trigger on the log fires: the SQL path takes over while it exists.
CREATE TABLE log_trigger_hits (message text);
CREATE FUNCTION log_trigger_hit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO log_trigger_hits VALUES (NEW.message);
    RETURN NEW;
END $$;
CREATE TRIGGER log_trigger_hit BEFORE INSERT ON audit_log.system_log FOR EACH ROW EXECUTE FUNCTION log_trigger_hit();
INSERT INTO path_direct VALUES (10001, 'seen', 1, NULL);
DROP TRIGGER log_trigger_hit ON audit_log.system_log;
INSERT INTO path_direct VALUES (10002, 'unseen', 1, NULL);
SELECT * FROM log_trigger_hits;
-- A CHECK constraint added to the log holds on the direct path too: the
-- audited statement fails and nothing of it stays.
ALTER TABLE audit_log.system_log ADD CONSTRAINT no_user_13 CHECK (user_id IS DISTINCT FROM 13),
                                 ADD CONSTRAINT knows_its_table CHECK (tableoid <> 0);
CREATE FUNCTION error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    constraint_name text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
    RETURN SQLSTATE || ' ' || constraint_name;
END $$;
SET app.current_user_id = '13';
SELECT error_of('INSERT INTO path_direct VALUES (10003, ''refused'', 1, NULL)') AS direct,
       error_of('INSERT INTO path_direct_st VALUES (10003, ''refused'', 1, NULL)') AS direct_statement_mode;
RESET app.current_user_id;
SELECT count(*) AS refused_rows FROM path_direct WHERE id = 10003;
SELECT error_of('INSERT INTO path_direct VALUES (10007, ''tableoid'', 1, NULL)') AS tableoid_check;
ALTER TABLE audit_log.system_log DROP CONSTRAINT no_user_13, DROP CONSTRAINT knows_its_table;
-- The writer plans the log's CHECK constraints once per session; a new
-- definition of a function one calls applies at once, though the
-- constraint's text stays the same (planning had inlined the old one).
CREATE FUNCTION log_user_allowed(u int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
ALTER TABLE audit_log.system_log ADD CONSTRAINT user_allowed CHECK (log_user_allowed(user_id));
SET app.current_user_id = '14';
SELECT error_of('INSERT INTO path_direct VALUES (10020, ''allowed'', 1, NULL)') AS check_planned;
CREATE OR REPLACE FUNCTION log_user_allowed(u int) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS 'SELECT u IS DISTINCT FROM 14';
SELECT error_of('INSERT INTO path_direct VALUES (10021, ''refused'', 1, NULL)') AS function_redefined;
RESET app.current_user_id;
ALTER TABLE audit_log.system_log DROP CONSTRAINT user_allowed;
DROP FUNCTION log_user_allowed(int);
-- So does the search_path such a function resolves its names with
-- (planning inlines it under the current one), as in a plain INSERT.
CREATE SCHEMA check_a;
CREATE SCHEMA check_b;
CREATE FUNCTION check_a.user_ok(u int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE FUNCTION check_b.user_ok(u int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT u IS DISTINCT FROM 15';
SET search_path = check_a, public;
CREATE FUNCTION public.log_user_checked(u int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT user_ok(u)';
ALTER TABLE audit_log.system_log ADD CONSTRAINT user_checked CHECK (public.log_user_checked(user_id));
SET app.current_user_id = '15';
SELECT error_of('INSERT INTO path_direct VALUES (10022, ''allowed'', 1, NULL)') AS under_check_a;
SET search_path = check_b, public;
SELECT error_of('INSERT INTO path_direct VALUES (10023, ''refused'', 1, NULL)') AS under_check_b;
RESET search_path;
RESET app.current_user_id;
ALTER TABLE audit_log.system_log DROP CONSTRAINT user_checked;
DROP FUNCTION log_user_checked(int), check_a.user_ok(int), check_b.user_ok(int);
DROP SCHEMA check_a, check_b;
-- A unique violation in the log fails the audited statement on the direct path.
BEGIN;
INSERT INTO path_direct VALUES (10008, 'first', 1, NULL);
SELECT setval('audit_log.system_log_id_seq', currval('audit_log.system_log_id_seq') - 1) > 0 AS id_reused;
SELECT split_part(error_of('INSERT INTO path_direct VALUES (10009, ''same id'', 1, NULL)'), ' ', 1)
    AS duplicate_log_id;  -- the constraint is named after the month's partition
ROLLBACK;
-- A deferrable unique constraint on the log is checked when it is due: the
-- SQL path queues the check, the duplicate fails at SET CONSTRAINTS.
BEGIN;
ALTER TABLE audit_log.system_log DROP CONSTRAINT system_log_pkey,
    ADD CONSTRAINT system_log_id_deferred UNIQUE (id, created_at) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO path_direct VALUES (10012, 'first', 1, NULL);
SELECT setval('audit_log.system_log_id_seq', currval('audit_log.system_log_id_seq') - 1) > 0 AS id_reused;
SELECT error_of('INSERT INTO path_direct VALUES (10013, ''same id, deferred'', 1, NULL)') AS at_insert;
SELECT split_part(error_of('SET CONSTRAINTS ALL IMMEDIATE'), ' ', 1) AS when_due;
ROLLBACK;
-- The same with the deferrable constraint on the month's partition only.
BEGIN;
INSERT INTO path_direct VALUES (10014, 'month', 1, NULL);
SELECT tableoid::regclass AS month_partition FROM audit_log.system_log WHERE created_at = now() \gset
ALTER TABLE audit_log.system_log DROP CONSTRAINT system_log_pkey;
ALTER TABLE :month_partition ADD CONSTRAINT month_id_deferred UNIQUE (id, created_at) DEFERRABLE INITIALLY DEFERRED;
SELECT setval('audit_log.system_log_id_seq', currval('audit_log.system_log_id_seq') - 1) > 0 AS id_reused;
SELECT error_of('INSERT INTO path_direct VALUES (10015, ''same id, deferred'', 1, NULL)') AS at_insert;
SELECT split_part(error_of('SET CONSTRAINTS ALL IMMEDIATE'), ' ', 1) AS when_due;
ROLLBACK;
-- In a read-only transaction the audited write fails as an INSERT would.
CREATE TEMP TABLE path_temp (id int PRIMARY KEY);
SELECT zerocut.enable_audit('path_temp');
BEGIN READ ONLY;
SELECT rtrim(error_of('INSERT INTO path_temp VALUES (1)')) AS read_only;
ROLLBACK;
DROP TABLE path_temp;
DELETE FROM zerocut.audit_config WHERE table_name = 'path_temp';
-- A new default for id is followed.
BEGIN;
CREATE SEQUENCE other_log_ids START 1000000000000;
ALTER TABLE audit_log.system_log ALTER COLUMN id SET DEFAULT nextval('other_log_ids');
INSERT INTO path_direct VALUES (10010, 'other sequence', 1, NULL);
SELECT id >= 1000000000000 AS from_new_sequence FROM audit_log.system_log ORDER BY id DESC LIMIT 1;
ROLLBACK;
-- A rule on the log is applied: the SQL path writes, the rule redirects.
CREATE TABLE log_sink (message text);
CREATE RULE log_to_sink AS ON INSERT TO audit_log.system_log DO INSTEAD INSERT INTO log_sink VALUES (NEW.message);
INSERT INTO path_direct VALUES (10011, 'ruled', 1, NULL);
DROP RULE log_to_sink ON audit_log.system_log;
SELECT message AS redirected FROM log_sink;
SELECT count(*) AS in_log FROM audit_log.system_log WHERE metadata @> '{"pk": {"id": 10011}}';
DROP TABLE log_sink;
-- A column added to the log gets its default: the SQL path writes the rows.
BEGIN;
ALTER TABLE audit_log.system_log ADD COLUMN source text NOT NULL DEFAULT 'app';
INSERT INTO path_direct VALUES (10004, 'new column', 1, NULL);
SELECT source, metadata #>> '{new_data,v}' AS v FROM audit_log.system_log WHERE metadata ->> 'table' = 'path_direct'
ORDER BY id DESC LIMIT 1;
ROLLBACK;
-- No partition for the month: the row goes to the DEFAULT partition through
-- the SQL path (whose constraint a concurrent ATTACH may change).
BEGIN;
INSERT INTO path_direct VALUES (10005, 'month', 1, NULL);
SELECT tableoid::regclass AS month_partition FROM audit_log.system_log WHERE created_at = now() \gset
ALTER TABLE audit_log.system_log DETACH PARTITION :month_partition;
INSERT INTO path_direct VALUES (10006, 'default', 1, NULL);
SELECT tableoid::regclass AS partition, metadata #>> '{new_data,v}' AS v FROM audit_log.system_log
WHERE created_at = now() ORDER BY id;
ROLLBACK;
-- Only a superuser switches the path.
CREATE ROLE regress_audit_path;
SET ROLE regress_audit_path;
SET zerocut.audit_direct_insert = off;
RESET ROLE;
DROP ROLE regress_audit_path;
DROP TABLE path_direct, path_sql, path_direct_st, path_sql_st, log_trigger_hits;
DROP FUNCTION path_changes(text), path_log(text), log_trigger_hit(), error_of(text);

-- ---------------------------------------------------------------------------
-- Bad input: clear errors naming the argument, nothing changed.
\set VERBOSITY default
SELECT zerocut.enable_audit(NULL);
SELECT zerocut.enable_audit('who', mode => NULL);
SELECT zerocut.enable_audit('who', changed_only => NULL);
SELECT zerocut.enable_audit('who', mode => 'sometimes');
SELECT zerocut.enable_audit('who', exclude_columns => ARRAY['nope']);
SELECT zerocut.enable_audit('who', exclude_columns => ARRAY['x"; DROP TABLE tx; --']);
SELECT zerocut.enable_audit('who', exclude_columns => ARRAY[NULL]);
SELECT zerocut.enable_audit('x"; DROP TABLE tx; --');
SELECT zerocut.enable_audit(0);
CREATE VIEW who_view AS SELECT * FROM who;
SELECT zerocut.enable_audit('who_view');
SELECT zerocut.enable_audit('audit_log.system_log');
SELECT zerocut.enable_audit('audit_log.system_log_default');
SELECT zerocut.disable_audit(NULL);
SELECT zerocut.disable_audit('who_view');
SELECT * FROM zerocut.audit_history(NULL, '{"id": 1}');
SELECT * FROM zerocut.audit_history('who', NULL);
SELECT * FROM zerocut.audit_history('who', '[1]');
SELECT * FROM zerocut.audit_history('who', '{}');
SELECT * FROM zerocut.audit_history(0, '{"id": 1}');
SELECT count(*) AS still_unaudited FROM pg_trigger WHERE tgrelid = 'who'::regclass;
-- Their SQLSTATEs.
CREATE FUNCTION sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT q AS call, sqlstate_of(q) AS sqlstate FROM (VALUES
    ('SELECT zerocut.enable_audit(NULL)'),
    ('SELECT zerocut.enable_audit(''who'', mode => ''sometimes'')'),
    ('SELECT zerocut.enable_audit(''who'', exclude_columns => ARRAY[''nope''])'),
    ('SELECT zerocut.enable_audit(0)'),
    ('SELECT zerocut.enable_audit(''who_view'')'),
    ('SELECT zerocut.enable_audit(''audit_log.system_log'')'),
    ('SELECT zerocut.disable_audit(NULL)'),
    ('SELECT zerocut.audit_history(''who'', ''[1]'')'),
    ('SELECT zerocut.audit_trigger_function()')) v(q);
DROP FUNCTION sqlstate_of(text);
-- Misused trigger function.
SELECT zerocut.audit_trigger_function();
CREATE TRIGGER early BEFORE INSERT ON who FOR EACH ROW EXECUTE FUNCTION zerocut.audit_trigger_function();
INSERT INTO who VALUES (50, 50);
DROP TRIGGER early ON who;
CREATE TRIGGER no_tables AFTER UPDATE ON who FOR EACH STATEMENT EXECUTE FUNCTION zerocut.audit_trigger_function();
UPDATE who SET v = 0;
DROP TRIGGER no_tables ON who;
CREATE TRIGGER bad_args AFTER INSERT ON who FOR EACH ROW EXECUTE FUNCTION zerocut.audit_trigger_function('x"; DROP TABLE tx; --');
INSERT INTO who VALUES (51, 51);
DROP TRIGGER bad_args ON who;
SELECT count(*) AS who_rows FROM who;
-- Only the owner enables auditing.
CREATE ROLE regress_audit_user;
GRANT USAGE ON SCHEMA zerocut TO regress_audit_user;
GRANT EXECUTE ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean) TO regress_audit_user;
CREATE SCHEMA regress_audit_own AUTHORIZATION regress_audit_user;
SET ROLE regress_audit_user;
SELECT zerocut.enable_audit('who');
-- A table owner who may run enable_audit() needs no grant on the config or the log.
CREATE TABLE regress_audit_own.own_table (id int PRIMARY KEY, v int);
SELECT zerocut.enable_audit('regress_audit_own.own_table', mode => 'statement');
INSERT INTO regress_audit_own.own_table VALUES (1, 1);
SELECT zerocut.enable_audit('regress_audit_own.own_table');
UPDATE regress_audit_own.own_table SET v = 2;
RESET ROLE;
SELECT message, user_id FROM audit_rows('own_table');
SELECT table_name, mode, enabled_by FROM zerocut.audit_config WHERE table_name = 'own_table';
DROP SCHEMA regress_audit_own CASCADE;
DELETE FROM zerocut.audit_config WHERE schema_name = 'regress_audit_own';

-- ---------------------------------------------------------------------------
-- Append-only log.  A writer needs no grant on the log (the trigger writes
-- as the log's owner); nobody but the owner may UPDATE, DELETE or TRUNCATE,
-- even with a grant that slipped in.
GRANT SELECT, INSERT, UPDATE, DELETE ON who TO regress_audit_user;
SELECT zerocut.enable_audit('who');
SET ROLE regress_audit_user;
UPDATE who SET v = 7 WHERE id = 1;
SELECT count(*) FROM audit_log.system_log;
DELETE FROM audit_log.system_log;
RESET ROLE;
SELECT metadata #>> '{new_data,v}' AS v_written_by_non_owner FROM audit_rows('who') ORDER BY 1 DESC LIMIT 1;
GRANT USAGE ON SCHEMA audit_log TO regress_audit_user;
GRANT SELECT, UPDATE, DELETE, TRUNCATE ON audit_log.system_log TO regress_audit_user;
SET ROLE regress_audit_user;
UPDATE audit_log.system_log SET message = 'forged' WHERE metadata ->> 'table' = 'who';
DELETE FROM audit_log.system_log WHERE metadata ->> 'table' = 'who';
TRUNCATE audit_log.system_log;
RESET ROLE;
SELECT count(*) > 0 AS who_rows_intact, count(*) FILTER (WHERE message = 'forged') AS forged FROM audit_rows('who');
\set VERBOSITY terse
-- The owner may (retention normally drops partitions).
DELETE FROM audit_log.system_log WHERE metadata ->> 'table' = 'who';
REVOKE ALL ON audit_log.system_log FROM regress_audit_user;
REVOKE ALL ON SCHEMA audit_log FROM regress_audit_user;

-- ---------------------------------------------------------------------------
-- The domain schema audits "USER", workspace and account, as the seed does.
SELECT c.table_name, c.mode, c.changed_only FROM zerocut.audit_config c WHERE c.schema_name <> 'public' ORDER BY 1;
SELECT tgrelid::regclass AS tbl, count(*) AS audit_triggers FROM pg_trigger
WHERE tgname LIKE 'zerocut_audit%' AND tgparentid = 0 AND tgrelid::regclass::text NOT LIKE 'public.%'
  AND tgrelid::regclass::text LIKE '%.%' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS guard_triggers FROM pg_trigger WHERE tgrelid = 'audit_log.system_log'::regclass AND tgname LIKE 'zerocut_append_only%';
-- A second install changes nothing.
CREATE TEMP TABLE audit_state AS
SELECT (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_trigger WHERE tgname LIKE 'zerocut%') AS triggers,
       (SELECT string_agg(c::text, ',' ORDER BY c::text) FROM zerocut.audit_config c) AS config;
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT triggers = (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_trigger WHERE tgname LIKE 'zerocut%') AS same_triggers,
       config = (SELECT string_agg(c::text, ',' ORDER BY c::text) FROM zerocut.audit_config c) AS same_config
FROM audit_state;
-- Earlier installs' indexes are replaced: the seed's jsonb_ops index of the
-- same name, and the envelope expression index.  A log keyed (id, created_at)
-- keeps a btree on created_at; one keyed (created_at, id) needs none.
DROP INDEX audit_log.idx_system_log_metadata_gin;
CREATE INDEX idx_system_log_metadata_gin ON audit_log.system_log USING gin (metadata);
CREATE INDEX idx_system_log_envelope_gin
    ON audit_log.system_log USING gin ((metadata - '{old_data,new_data}'::text[]) jsonb_path_ops);
CREATE INDEX idx_system_log_created ON audit_log.system_log (created_at);
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT i.indexrelid::regclass AS log_index, c.opcname, i.indisprimary
FROM pg_index i JOIN pg_opclass c ON c.oid = i.indclass[0]
WHERE i.indrelid = 'audit_log.system_log'::regclass ORDER BY i.indexrelid::regclass::text;
-- A second install keeps the index it built (no rebuild under a SHARE lock);
-- a partial one of that name is replaced.
SELECT 'audit_log.idx_system_log_metadata_gin'::regclass::oid AS gin_before \gset
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT 'audit_log.idx_system_log_metadata_gin'::regclass::oid = :gin_before AS same_index;
DROP INDEX audit_log.idx_system_log_metadata_gin;
CREATE INDEX idx_system_log_metadata_gin ON audit_log.system_log USING gin (metadata zerocut.jsonb_log_ops)
    WHERE level = 'ERROR';
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT indpred IS NULL AS whole_log_indexed FROM pg_index
WHERE indexrelid = 'audit_log.idx_system_log_metadata_gin'::regclass;
-- So are an invalid one (ON ONLY: no partition has it yet) and one on an
-- expression.
DROP INDEX audit_log.idx_system_log_metadata_gin;
CREATE INDEX idx_system_log_metadata_gin ON ONLY audit_log.system_log USING gin (metadata zerocut.jsonb_log_ops);
SELECT indisvalid AS invalid_index_valid FROM pg_index WHERE indexrelid = 'audit_log.idx_system_log_metadata_gin'::regclass;
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'audit_log.idx_system_log_metadata_gin'::regclass;
DROP INDEX audit_log.idx_system_log_metadata_gin;
CREATE INDEX idx_system_log_metadata_gin ON audit_log.system_log USING gin ((metadata - 'x') zerocut.jsonb_log_ops);
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT indexprs IS NULL AS on_metadata_itself FROM pg_index
WHERE indexrelid = 'audit_log.idx_system_log_metadata_gin'::regclass;
-- A log keyed (id, created_at), as earlier installs made it, keeps a btree
-- on created_at; keyed (created_at, id) again, it needs none.
ALTER TABLE audit_log.system_log DROP CONSTRAINT system_log_pkey, ADD PRIMARY KEY (id, created_at);
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT to_regclass('audit_log.idx_system_log_created') IS NOT NULL AS has_created_at_index;
ALTER TABLE audit_log.system_log DROP CONSTRAINT system_log_pkey, ADD PRIMARY KEY (created_at, id);
SELECT zerocut.install_domain_schema() IS NOT NULL AS reinstalled;
SELECT to_regclass('audit_log.idx_system_log_created') IS NOT NULL AS has_created_at_index;
SELECT zerocut.generate_sample_data(3, 2) ->> 'users' AS users;
SELECT message, count(*), count(*) FILTER (WHERE metadata::text LIKE '%password_hash": "[redacted]"%') AS redacted
FROM audit_log.system_log WHERE metadata ->> 'schema' <> 'public' GROUP BY 1 ORDER BY 1;
UPDATE user_management."USER" SET password_hash = 'x' WHERE id = 1;
SELECT metadata #> '{new_data,password_hash}' AS password_hash FROM zerocut.audit_history('user_management."USER"', '{"id": 1}') WHERE metadata ->> 'operation' = 'UPDATE';

-- A log owned by a role that is neither superuser nor the extension's owner
-- is refused (42501) through the writer and through SQL INSERTs alike
-- (such an owner, without USAGE or UPDATE on the log's sequence, used to
-- get the error an INSERT would raise).
BEGIN;
CREATE TABLE seq_perm (id int PRIMARY KEY, v int);
SELECT zerocut.enable_audit('seq_perm');
CREATE ROLE regress_log_owner;
GRANT USAGE ON SCHEMA audit_log TO regress_log_owner;
ALTER TABLE audit_log.system_log OWNER TO regress_log_owner;
REVOKE USAGE, UPDATE ON SEQUENCE audit_log.system_log_id_seq FROM regress_log_owner;
SAVEPOINT direct;
INSERT INTO seq_perm VALUES (1, 1);
ROLLBACK TO SAVEPOINT direct;
SET LOCAL zerocut.audit_direct_insert = off;
INSERT INTO seq_perm VALUES (1, 1);
ROLLBACK;
SELECT relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS owner_restored
FROM pg_class WHERE oid = 'audit_log.system_log'::regclass;

-- The direct path writes with no SQL statement at all (on every version,
-- 16+ included): pg_stat_statements sees the SQL path's INSERT into the
-- log only when the writer is switched off.
CREATE EXTENSION pg_stat_statements;
CREATE TABLE probe_path (id int PRIMARY KEY);
SELECT zerocut.enable_audit('probe_path');
SELECT count(*) AS reset FROM (SELECT pg_stat_statements_reset()) r;
INSERT INTO probe_path SELECT generate_series(1, 10);
SELECT coalesce(sum(calls), 0) AS sql_inserts_direct_on FROM pg_stat_statements
WHERE query LIKE 'INSERT INTO audit_log.system_log%';
SET zerocut.audit_direct_insert = off;
INSERT INTO probe_path SELECT generate_series(11, 20);
SELECT coalesce(sum(calls), 0) > 0 AS sql_inserts_direct_off FROM pg_stat_statements
WHERE query LIKE 'INSERT INTO audit_log.system_log%';
RESET zerocut.audit_direct_insert;
SELECT count(*) AS probe_log_rows FROM audit_log.system_log WHERE metadata ->> 'table' = 'probe_path';
DROP TABLE probe_path;
DROP EXTENSION pg_stat_statements;

-- Clean up.
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record CASCADE;
RESET client_min_messages;
TRUNCATE audit_log.system_log;
DROP TABLE kinds, accounts, who, same_row, same_stmt, usage, tx, tz_audit, "x""; DROP TABLE tx; --" CASCADE;
DROP FUNCTION tx_insert_and_fail(int), audit_rows(text);
DROP TYPE audit_pair;
DROP DOMAIN audit_positive;
DELETE FROM zerocut.audit_config WHERE schema_name = 'public';
REVOKE ALL ON SCHEMA zerocut FROM regress_audit_user;
REVOKE ALL ON FUNCTION zerocut.enable_audit(regclass, text[], text, boolean) FROM regress_audit_user;
REVOKE ALL ON FUNCTION zerocut.audit_trigger_function() FROM regress_audit_user;
DROP ROLE regress_audit_user;
