-- Online copy (issue 19): keyset batches with change capture, replay,
-- resume after an error, finish with verification and swap, bad input,
-- privileges, and migrate_user_data on a legacy-shaped "USER".
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text; state text; msg text;
BEGIN
    EXECUTE sql INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ' | ' || msg;
END
$$;
CREATE SCHEMA oc;
-- Rows of a that b lacks, and of b that a lacks (all columns; a and b are
-- table names or parenthesized queries with an alias).
CREATE FUNCTION oc.diff(a text, b text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l bigint; r bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x', a, b) INTO l;
    EXECUTE format('SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x', b, a) INTO r;
    RETURN l || ' missing, ' || r || ' extra';
END $$;

-- 1. A basic copy: 1000 rows in batches of 300 (keyset on id), then
-- changes made after the copy are captured and replayed by the finish.
CREATE TABLE oc.src (id int PRIMARY KEY, name text NOT NULL, amount numeric(10,2), note text, born date);
INSERT INTO oc.src SELECT g, 'n' || g, g * 1.5, CASE WHEN g % 3 <> 0 THEN md5(g::text) END, date '1970-01-01' + g
FROM generate_series(1, 1000) g;
CREATE TABLE oc.dst (LIKE oc.src INCLUDING ALL);
CALL zerocut.online_copy('oc.src', 'oc.dst', batch_size => 300);
SELECT source, target, phase, rows_copied, source_rows_estimate IS NULL OR source_rows_estimate >= 0 AS estimate_ok,
       percent_done, batches, batch_size, changes_pending, changes_replayed, last_key, rows_per_second > 0 AS timed
FROM zerocut.copy_progress;
SELECT tgname, pg_get_triggerdef(oid) ~ 'AFTER INSERT OR DELETE OR UPDATE' AS rows_captured
FROM pg_trigger WHERE tgrelid = 'oc.src'::regclass ORDER BY 1;
SELECT oc.diff('oc.src', 'oc.dst') AS after_copy;
-- Writes go on: each change logs its key (an UPDATE of the key logs both).
UPDATE oc.src SET name = 'changed' WHERE id = 5;
DELETE FROM oc.src WHERE id = 6;
INSERT INTO oc.src VALUES (2000, 'new', 1, NULL, NULL);
UPDATE oc.src SET id = 3000 WHERE id = 7;
SELECT key FROM zerocut.online_copy_pending((SELECT copy_id FROM zerocut.online_copy WHERE source = 'oc.src'::regclass))
ORDER BY seq;
SELECT key FROM zerocut.online_copy_pending((SELECT copy_id FROM zerocut.online_copy WHERE source = 'oc.src'::regclass), 2)
ORDER BY seq;
SELECT oc.diff('oc.src', 'oc.dst') AS before_finish;
-- A TRUNCATE would not be captured: refused while the copy runs.
TRUNCATE oc.src;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Finish: replays the five logged changes, verifies, removes the capture.
SELECT source_name, target_name, verified_rows, pending_rows, replayed, target_rows, checksum <> '0' AS checksummed,
       compared_columns, lock_attempts, lock_wait_ms >= 0 AS waited, lock_held_ms >= 0 AS held, swapped, details
FROM zerocut.online_copy_finish('oc.src', 'oc.dst');
SELECT oc.diff('oc.src', 'oc.dst') AS after_finish;
SELECT count(*) AS capture_triggers FROM pg_trigger WHERE tgrelid = 'oc.src'::regclass;
SELECT count(*) AS copies, (SELECT count(*) FROM zerocut.online_copy_log) AS log_rows FROM zerocut.online_copy;
SELECT level, message, metadata - 'details' AS metadata FROM audit_log.system_log
WHERE message LIKE 'Online copy%' ORDER BY id;
-- The table is writable again, TRUNCATE included.
TRUNCATE oc.dst;

-- 2. A composite key (text, int) with an UPDATE that moves a row's key,
-- and a text key in the "C" collation with awkward values.
CREATE TABLE oc.comp (region text, seq int, val text, PRIMARY KEY (region, seq));
INSERT INTO oc.comp SELECT r, s, r || s FROM unnest(ARRAY['b', 'a', 'O''Brien', 'ü', '']) r, generate_series(1, 40) s;
CREATE TABLE oc.comp2 (LIKE oc.comp INCLUDING ALL);
CALL zerocut.online_copy('oc.comp', 'oc.comp2', batch_size => 33);
UPDATE oc.comp SET region = 'zz' WHERE region = 'a' AND seq = 1;
UPDATE oc.comp SET val = 'quote''d' WHERE region = 'O''Brien' AND seq = 40;
SELECT verified_rows, replayed, target_rows, compared_columns FROM zerocut.online_copy_finish('oc.comp', 'oc.comp2');
SELECT oc.diff('oc.comp', 'oc.comp2') AS composite;
CREATE TABLE oc.txt (code text COLLATE "C" PRIMARY KEY, v int);
INSERT INTO oc.txt VALUES ('', 1), (' space', 2), ('O''Brien', 3), ('ü', 4), ('Z', 5), ('a', 6), ('x"; DROP TABLE oc.txt; --', 7);
INSERT INTO oc.txt SELECT 'k' || g, g FROM generate_series(1, 50) g;
CREATE TABLE oc.txt2 (code text COLLATE "C" PRIMARY KEY, v int);
CALL zerocut.online_copy('oc.txt', 'oc.txt2', batch_size => 4);
DELETE FROM oc.txt WHERE code = '';
UPDATE oc.txt SET v = -1 WHERE code = 'x"; DROP TABLE oc.txt; --';
SELECT verified_rows, replayed, target_rows FROM zerocut.online_copy_finish('oc.txt', 'oc.txt2');
SELECT oc.diff('oc.txt', 'oc.txt2') AS text_key;

-- 3. A source with 0 rows.
CREATE TABLE oc.empty (id bigint PRIMARY KEY, v text);
CREATE TABLE oc.empty2 (LIKE oc.empty);
ALTER TABLE oc.empty2 ADD PRIMARY KEY (id);
CALL zerocut.online_copy('oc.empty', 'oc.empty2');
SELECT phase, rows_copied, batches, percent_done, last_key FROM zerocut.copy_progress;
SELECT verified_rows, replayed, target_rows, checksum FROM zerocut.online_copy_finish('oc.empty', 'oc.empty2');

-- 4. column_map: target columns from SQL expressions over the source row
-- (run as the tables' owner with search_path = pg_catalog, pg_temp);
-- other columns by name; columns only in the target take their default.
CREATE TABLE oc.users (id int PRIMARY KEY, phone text, email text);
INSERT INTO oc.users SELECT g, '+86 138-' || lpad(g::text, 4, '0'), 'U' || g || '@Example.com' FROM generate_series(1, 20) g;
CREATE TABLE oc.users2 (id int PRIMARY KEY, phone_digits text, email text, email_lower text, origin text DEFAULT 'copied');
CALL zerocut.online_copy('oc.users', 'oc.users2',
    '{"phone_digits": "regexp_replace(phone, ''[^0-9]'', '''', ''g'')", "email_lower": "lower(email)"}');
UPDATE oc.users SET phone = '+86 139-9999', email = 'New@Example.com' WHERE id = 3;
SELECT verified_rows, replayed, target_rows, compared_columns FROM zerocut.online_copy_finish('oc.users', 'oc.users2');
SELECT * FROM oc.users2 WHERE id IN (1, 3, 20) ORDER BY id;

-- 5. Resume after an error mid-copy: the column_map fails on id 500 while
-- oc.fail is on, so batches 1-4 (100 rows each) stay committed and the
-- fifth rolls back; finish is refused until the copy is complete; calling
-- online_copy again resumes after id 400.
CREATE TABLE oc.big (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO oc.big SELECT g, g FROM generate_series(1, 1000) g;
CREATE TABLE oc.big2 (id int PRIMARY KEY, v int NOT NULL);
SET oc.fail = 'on';
CALL zerocut.online_copy('oc.big', 'oc.big2',
    '{"v": "CASE WHEN id = 500 AND current_setting(''oc.fail'', true) = ''on'' THEN v / 0 ELSE v END"}', 100);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT phase, rows_copied, batches, last_key FROM zerocut.copy_progress;
SELECT count(*) AS copied, max(id) AS up_to FROM oc.big2;
SELECT pg_temp.try($$SELECT verified_rows FROM zerocut.online_copy_finish('oc.big', 'oc.big2')$$) AS finish_too_early;
-- Resuming needs the same column_map.
CALL zerocut.online_copy('oc.big', 'oc.big2', NULL, 100);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET oc.fail;
INSERT INTO oc.big VALUES (1001, 1001);
CALL zerocut.online_copy('oc.big', 'oc.big2',
    '{"v": "CASE WHEN id = 500 AND current_setting(''oc.fail'', true) = ''on'' THEN v / 0 ELSE v END"}', 250);
SELECT phase, rows_copied, batches, batch_size, last_key FROM zerocut.copy_progress;
-- Not under REPEATABLE READ: the last replay, under the lock, would read the
-- log with a snapshot taken before it and miss what was committed between.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.try($$SELECT verified_rows FROM zerocut.online_copy_finish('oc.big', 'oc.big2')$$) AS finish_repeatable_read;
ROLLBACK;
SELECT verified_rows, replayed, target_rows FROM zerocut.online_copy_finish('oc.big', 'oc.big2');
SELECT oc.diff('oc.big', 'oc.big2') AS resumed;

-- 6. Bad input: clear errors, nothing changed.
CREATE TABLE oc.nopk (id int, v text);
CREATE TABLE oc.nopk2 (id int PRIMARY KEY, v text);
CALL zerocut.online_copy('oc.nopk', 'oc.nopk2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy(NULL, 'oc.nopk2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.src');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.big2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', batch_size => 0);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CREATE TABLE oc.nokey (id int, name text);
CALL zerocut.online_copy('oc.src', 'oc.nokey');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CREATE TABLE oc.otherkey (id int, name text PRIMARY KEY);
CALL zerocut.online_copy('oc.src', 'oc.otherkey');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '["not", "an object"]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"name": 42}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"nosuch": "1"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"id": "id + 1"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"name": "upper(name"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Expressions cannot close our statement and open another.
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"name": "name) FROM oc.src; DROP TABLE oc.comp; SELECT (1"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"name": "name FROM pg_class"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"name": "name --"}');
SELECT count(*) AS copied_with_comment FROM oc.dst;
SELECT zerocut.online_copy_abandon('oc.src');
TRUNCATE oc.dst;
-- An expression is typed and planned before anything is recorded.
CALL zerocut.online_copy('oc.src', 'oc.dst', '{"name": "nosuch_column"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS copies, (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'oc.src'::regclass) AS triggers
FROM zerocut.online_copy;
CREATE TABLE oc.floatkey (id float8 PRIMARY KEY);
CREATE TABLE oc.floatkey2 (id float8 PRIMARY KEY);
CALL zerocut.online_copy('oc.floatkey', 'oc.floatkey2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- A target referenced by a foreign key (a replay deletes and re-inserts).
CREATE TABLE oc.dst_child (id int REFERENCES oc.dst);
CALL zerocut.online_copy('oc.src', 'oc.dst');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
DROP TABLE oc.dst_child;
CALL zerocut.online_copy('zerocut.online_copy', 'oc.dst');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'zerocut.copy_progress');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
BEGIN;
CALL zerocut.online_copy('oc.src', 'oc.dst');
ROLLBACK;
SELECT pg_temp.try($$SELECT 1 FROM zerocut.online_copy_finish('oc.src', 'oc.dst')$$) AS finish_without_copy;
SELECT pg_temp.try($$SELECT 1 FROM zerocut.online_copy_finish('oc.src', NULL)$$) AS finish_null;
SELECT pg_temp.try($$SELECT zerocut.online_copy_pending(NULL)$$) AS pending_null;
SELECT pg_temp.try($$SELECT zerocut.online_copy_pending(-1)$$) AS pending_unknown;
SELECT pg_temp.try($$SELECT zerocut.online_copy_capture()$$) AS capture_called;
SELECT zerocut.online_copy_abandon('oc.src') AS abandoned_nothing;

-- 7. Two copies of one table, or into one target, at once: refused.
CALL zerocut.online_copy('oc.users', 'oc.dst', '{"name": "email"}', 5);
CREATE TABLE oc.dst3 (LIKE oc.src INCLUDING ALL);
CALL zerocut.online_copy('oc.users', 'oc.dst3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL zerocut.online_copy('oc.src', 'oc.dst');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT pg_temp.try($$SELECT zerocut.online_copy_abandon('oc.dst')$$) AS abandon_target;
-- Abandon: the capture goes, the target keeps its rows.
SELECT zerocut.online_copy_abandon('oc.users');
SELECT count(*) AS kept, (SELECT count(*) FROM zerocut.online_copy) AS copies,
       (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'oc.users'::regclass) AS triggers FROM oc.dst;
TRUNCATE oc.dst;
-- A dropped target ends its copy; the capture trigger left on the source
-- finds no copy and does nothing; abandon removes it.
CREATE TABLE oc.gone (LIKE oc.users INCLUDING ALL);
CALL zerocut.online_copy('oc.users', 'oc.gone');
DROP TABLE oc.gone;
SELECT count(*) AS copies FROM zerocut.online_copy;
UPDATE oc.users SET email = 'after@example.com' WHERE id = 1;
SELECT count(*) AS log_rows FROM zerocut.online_copy_log;
SELECT zerocut.online_copy_abandon('oc.users') AS removed_leftover_trigger;

-- 8. Finish with swap: the source becomes <name>_old, the target takes its
-- name; incoming foreign keys (NOT VALID), dependent views (options kept),
-- triggers, grants and the serial's sequence follow; a materialized view
-- does not (WARNING).
CREATE ROLE zc_oc_reader;
CREATE TABLE oc.acct (id serial PRIMARY KEY, owner_name text NOT NULL, balance numeric NOT NULL DEFAULT 0,
                      touched int NOT NULL DEFAULT 0);
INSERT INTO oc.acct (owner_name, balance) SELECT 'o' || g, g FROM generate_series(1, 200) g;
CREATE TABLE oc.acct_ref (id int PRIMARY KEY, acct_id int REFERENCES oc.acct (id) ON DELETE CASCADE);
INSERT INTO oc.acct_ref SELECT g, g FROM generate_series(1, 50) g;
CREATE VIEW oc.rich WITH (security_barrier) AS SELECT id, owner_name FROM oc.acct WHERE balance > 150;
CREATE VIEW oc.rich_count AS SELECT count(*) AS n FROM oc.rich;
CREATE MATERIALIZED VIEW oc.acct_total AS SELECT sum(balance) AS total FROM oc.acct;
CREATE FUNCTION oc.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$;
CREATE TRIGGER acct_touch BEFORE UPDATE ON oc.acct FOR EACH ROW EXECUTE FUNCTION oc.touch();
GRANT SELECT, UPDATE ON oc.acct TO zc_oc_reader;
CREATE TABLE oc.acct_v2 (LIKE oc.acct INCLUDING ALL);
ALTER TABLE oc.acct_v2 ADD COLUMN currency text NOT NULL DEFAULT 'CNY';
CALL zerocut.online_copy('oc.acct', 'oc.acct_v2', batch_size => 64);
UPDATE oc.acct SET balance = balance + 1000 WHERE id = 1;
INSERT INTO oc.acct (owner_name, balance) VALUES ('late', 7);
SELECT verified_rows, replayed, target_rows, compared_columns, swapped, details
FROM zerocut.online_copy_finish('oc.acct', 'oc.acct_v2', swap => true);
SELECT c.relname, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'currency') AS has_currency
FROM pg_class c WHERE c.relnamespace = 'oc'::regnamespace AND c.relname LIKE 'acct%' AND c.relkind = 'r' ORDER BY 1;
SELECT oc.diff('oc.acct_old', '(SELECT id, owner_name, balance, touched FROM oc.acct) AS n') AS swapped_equal;
SELECT conrelid::regclass, confrelid::regclass, convalidated FROM pg_constraint WHERE conrelid = 'oc.acct_ref'::regclass AND contype = 'f';
ALTER TABLE oc.acct_ref VALIDATE CONSTRAINT acct_ref_acct_id_fkey;
SELECT (SELECT count(*) FROM oc.rich) AS rich, (SELECT n FROM oc.rich_count) AS rich_count,
       (SELECT reloptions FROM pg_class WHERE oid = 'oc.rich'::regclass) AS view_options,
       (SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
        WHERE r.ev_class = 'oc.rich'::regclass AND d.refobjid = 'oc.acct'::regclass) AS view_uses_new;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'oc.acct'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT has_table_privilege('zc_oc_reader', 'oc.acct', 'SELECT') AS reader_select,
       has_table_privilege('zc_oc_reader', 'oc.acct', 'UPDATE') AS reader_update;
SELECT pg_get_serial_sequence('oc.acct', 'id') AS owned_sequence;
INSERT INTO oc.acct (owner_name) VALUES ('after swap') RETURNING id, currency;
UPDATE oc.acct SET balance = 1 WHERE id = 2 RETURNING touched;
DELETE FROM oc.acct WHERE id = 3;
SELECT count(*) AS cascaded FROM oc.acct_ref WHERE acct_id = 3;
-- Swap needs the target to have the source's row-level security.
CREATE TABLE oc.sec (id int PRIMARY KEY, v int);
ALTER TABLE oc.sec ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_own ON oc.sec USING (v > 0);
CREATE TABLE oc.sec2 (id int PRIMARY KEY, v int);
CALL zerocut.online_copy('oc.sec', 'oc.sec2');
SELECT pg_temp.try($$SELECT 1 FROM zerocut.online_copy_finish('oc.sec', 'oc.sec2', true)$$) AS swap_without_policies;
SELECT zerocut.online_copy_abandon('oc.sec');

-- 9. Privileges: only the owner of both tables (or a superuser), and both
-- must have the same owner; the work runs as that owner.
CREATE ROLE zc_oc_owner;
CREATE ROLE zc_oc_other;
GRANT USAGE ON SCHEMA zerocut, oc TO zc_oc_owner, zc_oc_other;
GRANT EXECUTE ON PROCEDURE zerocut.online_copy(regclass, regclass, jsonb, integer) TO zc_oc_owner, zc_oc_other;
GRANT EXECUTE ON FUNCTION zerocut.online_copy_finish(regclass, regclass, boolean) TO zc_oc_owner, zc_oc_other;
CREATE TABLE oc.mine (id int PRIMARY KEY, who text);
INSERT INTO oc.mine SELECT g, 'x' FROM generate_series(1, 10) g;
CREATE TABLE oc.mine2 (id int PRIMARY KEY, who text);
ALTER TABLE oc.mine OWNER TO zc_oc_owner;
SET ROLE zc_oc_other;
CALL zerocut.online_copy('oc.mine', 'oc.mine2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
SET ROLE zc_oc_owner;
CALL zerocut.online_copy('oc.mine', 'oc.mine2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
ALTER TABLE oc.mine2 OWNER TO zc_oc_owner;
SET ROLE zc_oc_owner;
-- column_map runs as the owner: current_user says so.
CALL zerocut.online_copy('oc.mine', 'oc.mine2', '{"who": "current_user"}');
SELECT DISTINCT who FROM oc.mine2;
SELECT verified_rows, target_rows FROM zerocut.online_copy_finish('oc.mine', 'oc.mine2');
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.online_copy_log$$) AS owner_reads_log;
RESET ROLE;
-- A superuser's copy of zc_oc_owner's tables writes as zc_oc_owner.
TRUNCATE oc.mine2;
CALL zerocut.online_copy('oc.mine', 'oc.mine2', '{"who": "current_user"}');
SELECT DISTINCT who FROM oc.mine2;
-- The pending changes are the owner's to read only.
SELECT copy_id AS mine_copy FROM zerocut.online_copy WHERE source = 'oc.mine'::regclass \gset
SET ROLE zc_oc_other;
SELECT pg_temp.try('SELECT count(*) FROM zerocut.online_copy_pending(' || :mine_copy || ')') AS other_reads_pending;
RESET ROLE;
SELECT pg_temp.try('SELECT count(*) FROM zerocut.online_copy_pending(' || :mine_copy || ', 0)') AS pending_max_rows_0;
SELECT zerocut.online_copy_abandon('oc.mine');

-- 10. migrate_user_data(): on the domain's "USER" (already the new shape)
-- it does nothing; on a legacy "USER" (the seed's original shape, here in a
-- scratch schema) it makes "USER_NEW", copies with the phone encrypted
-- under the keyring's 'default' key, swaps and protects the column.
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_copy.key && umask 077 && cat > zc_regress_copy.key';
SET zerocut.key_file = 'zc_regress_copy.key';
SELECT zerocut.create_key('default') > 0 AS key_made;
CALL zerocut.migrate_user_data();
CREATE SCHEMA oc_legacy;
CREATE TABLE oc_legacy."USER" (
    id serial PRIMARY KEY,
    email varchar(255) UNIQUE NOT NULL,
    password_hash varchar(255) NOT NULL,
    username varchar(100) NOT NULL,
    phone varchar(20),
    avatar_url text,
    email_verified boolean DEFAULT false,
    phone_verified boolean DEFAULT false,
    status user_management.user_status DEFAULT 'active',
    last_login_at timestamptz,
    login_attempts integer DEFAULT 0,
    locked_until timestamptz,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE oc_legacy.user_workspace (id serial PRIMARY KEY,
                                       user_id int NOT NULL REFERENCES oc_legacy."USER" (id) ON DELETE CASCADE);
INSERT INTO oc_legacy."USER" (email, password_hash, username, phone, created_at)
SELECT 'u' || g || '@example.com', 'h' || g, 'user' || g,
       CASE WHEN g % 10 = 0 THEN NULL ELSE '+86 138 ' || lpad(g::text, 8, '0') END,
       timestamptz '1996-03-01 00:00+00' + g * interval '1 hour'
FROM generate_series(1, 300) g;
INSERT INTO oc_legacy.user_workspace (user_id) SELECT g FROM generate_series(1, 300, 3) g;
CREATE TABLE oc_legacy.before AS SELECT * FROM oc_legacy."USER";
CALL zerocut.migrate_user_data('oc_legacy."USER"');
SELECT c.relname, string_agg(a.attname, ', ' ORDER BY a.attnum) FILTER (WHERE a.attname IN
       ('phone', 'phone_encrypted', 'phone_bidx', 'timezone', 'language', 'preferences')) AS columns
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'oc_legacy'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'USER%'
GROUP BY c.relname ORDER BY 1;
SELECT count(*) AS users, count(phone) AS plaintext, count(phone_encrypted) AS encrypted, count(phone_bidx) AS indexed,
       min(timezone) AS timezone, min(language) AS language, min(preferences::text) AS preferences
FROM oc_legacy."USER";
-- Every phone decrypts (context oc_legacy.USER.phone) to the legacy value,
-- and its blind index is the keyring's; the other columns are unchanged.
SELECT count(*) AS phone_mismatches FROM oc_legacy."USER" n JOIN oc_legacy.before b USING (id)
WHERE zerocut.decrypt(n.phone_encrypted, 'oc_legacy.USER.phone') IS DISTINCT FROM b.phone
   OR n.phone_bidx IS DISTINCT FROM zerocut.blind_index(b.phone);
SELECT count(*) AS other_mismatches FROM oc_legacy."USER" n JOIN oc_legacy.before b USING (id)
WHERE (n.email, n.password_hash, n.username, n.status, n.created_at, n.updated_at)
      IS DISTINCT FROM (b.email, b.password_hash, b.username, b.status, b.created_at, b.updated_at);
SELECT conname, confrelid::regclass, convalidated FROM pg_constraint
WHERE conrelid = 'oc_legacy.user_workspace'::regclass AND contype = 'f';
SELECT relation, column_name, key_name, context FROM zerocut.protected_column WHERE relation::text LIKE 'oc_legacy%';
-- New writes are encrypted by the protect trigger; lookups by blind index.
INSERT INTO oc_legacy."USER" (email, password_hash, username, phone) VALUES ('new@example.com', 'h', 'new', '+86 100')
RETURNING id > 300 AS new_id, phone, zerocut.decrypt(phone_encrypted, 'oc_legacy.USER.phone') AS decrypted;
SELECT username FROM oc_legacy."USER" WHERE phone_bidx = zerocut.blind_index('+86 138 00000042');
-- Called again: the table has the new shape now.
CALL zerocut.migrate_user_data('oc_legacy."USER"');
-- Not a user table: refused.
CALL zerocut.migrate_user_data('oc.src');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Clean up.
RESET zerocut.key_file;
SET client_min_messages = warning;
DROP SCHEMA oc_legacy CASCADE;
DROP SCHEMA oc CASCADE;
RESET client_min_messages;
REVOKE ALL ON SCHEMA zerocut FROM zc_oc_owner, zc_oc_other;
REVOKE ALL ON PROCEDURE zerocut.online_copy(regclass, regclass, jsonb, integer) FROM zc_oc_owner, zc_oc_other;
REVOKE ALL ON FUNCTION zerocut.online_copy_finish(regclass, regclass, boolean) FROM zc_oc_owner, zc_oc_other;
REVOKE ALL ON FUNCTION zerocut.online_copy_capture() FROM zc_oc_owner;
DROP ROLE zc_oc_owner, zc_oc_other, zc_oc_reader;
DELETE FROM zerocut.protected_column WHERE relation::oid NOT IN (SELECT oid FROM pg_class);
DELETE FROM zerocut.encryption_keys;
ALTER SEQUENCE zerocut.encryption_keys_id_seq RESTART;
DELETE FROM audit_log.system_log WHERE message LIKE 'Online copy%' OR message LIKE 'crypto:%';
SELECT count(*) AS copies_left, (SELECT count(*) FROM zerocut.online_copy_log) AS log_left FROM zerocut.online_copy;
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_copy.key';
