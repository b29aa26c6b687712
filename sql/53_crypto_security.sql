-- Crypto security (issue 15): the protect trigger is no oracle, protected
-- columns never reach the audit log, keys are only made under the keyring's
-- root key, version 1 of a key (its blind indexes) cannot silently go.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text; state text; msg text; hint text;
BEGIN
    EXECUTE sql INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN format('%s | %s%s', state, msg, CASE WHEN hint <> '' THEN ' | HINT: ' || hint ELSE '' END);
END
$$;
-- The same for a statement that returns nothing (DDL, DML without RETURNING).
CREATE FUNCTION pg_temp.run(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN format('%s | %s', state, msg);
END
$$;
-- Two root key files: the keyring's, and another valid one.
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_sec.key && umask 077 && cat > zc_regress_sec.key';
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_sec_other.key && umask 077 && cat > zc_regress_sec_other.key';
SET zerocut.key_file = 'zc_regress_sec.key';
SELECT zerocut.create_key('default') AS key_id;

-- ---------------------------------------------------------------------------
-- 1. protect_column_trigger() is no encryption or blind-index oracle.
CREATE TABLE crypto_sec_victim (id int PRIMARY KEY, phone text, phone_encrypted bytea);
SELECT zerocut.protect_column('crypto_sec_victim', 'phone') ->> 'context' AS context;
INSERT INTO crypto_sec_victim VALUES (1, '+86 138 0000 0042');
SELECT relation, column_name, key_name, context, blind_index_column, keep_plaintext
FROM zerocut.protected_column ORDER BY relation::text, column_name;
-- The trigger function is not PUBLIC's, and CREATE TRIGGER needs EXECUTE.
SELECT has_function_privilege('public', 'zerocut.protect_column_trigger()', 'EXECUTE') AS public_may_execute;
CREATE ROLE zc_sec_attacker;
GRANT USAGE ON SCHEMA zerocut TO zc_sec_attacker;
GRANT SELECT ON crypto_sec_victim TO zc_sec_attacker;  -- it has the ciphertexts, not the keys
SET ROLE zc_sec_attacker;
CREATE TEMP TABLE oracle (n int, phone text, phone_encrypted bytea, phone_bidx bytea);
SELECT pg_temp.run($$CREATE TRIGGER zc_protect_phone BEFORE INSERT OR UPDATE ON oracle FOR EACH ROW
                     EXECUTE FUNCTION zerocut.protect_column_trigger('phone', 'default', 'true', 'false',
                                                                     'public.crypto_sec_victim.phone')$$) AS create_trigger;
-- The attack: the victim's ciphertext in, its blind index out; candidates in, theirs out.
SELECT pg_temp.run($$INSERT INTO oracle (n, phone_encrypted) SELECT 0, phone_encrypted FROM crypto_sec_victim WHERE id = 1$$);
SELECT pg_temp.run($$INSERT INTO oracle (n, phone) SELECT g, '+86 138 0000 ' || lpad(g::text, 4, '0') FROM generate_series(1, 100) g$$);
SELECT count(c.n) AS phones_recovered
FROM oracle v JOIN oracle c ON c.n > 0 AND c.phone_bidx = v.phone_bidx WHERE v.n = 0;
RESET ROLE;
DROP TABLE oracle;
-- Even where the trigger exists (a superuser made it), it works only for a
-- relation and column recorded by protect_column(), with the same arguments.
CREATE TABLE crypto_sec_fake (phone text, phone_encrypted bytea, phone_bidx bytea);
CREATE TRIGGER zc_protect_phone BEFORE INSERT OR UPDATE ON crypto_sec_fake FOR EACH ROW
    EXECUTE FUNCTION zerocut.protect_column_trigger('phone', 'default', 'true', 'false', 'public.crypto_sec_victim.phone');
SELECT pg_temp.run($$INSERT INTO crypto_sec_fake (phone_encrypted) SELECT phone_encrypted FROM crypto_sec_victim$$);
SELECT pg_temp.run($$INSERT INTO crypto_sec_fake (phone) VALUES ('+86 138 0000 0042')$$);
SELECT count(*) AS fake_rows FROM crypto_sec_fake;
DROP TABLE crypto_sec_fake;
-- On the protected table, a second trigger with another column's context is refused too.
CREATE TRIGGER zc_protect_phone_2 BEFORE INSERT OR UPDATE ON crypto_sec_victim FOR EACH ROW
    EXECUTE FUNCTION zerocut.protect_column_trigger('phone', 'default', 'true', 'false', 'user_management.USER.phone');
SELECT pg_temp.run($$INSERT INTO crypto_sec_victim VALUES (2, '+1 555 0100')$$);
DROP TRIGGER zc_protect_phone_2 ON crypto_sec_victim;
-- A table owner granted EXECUTE on protect_column() only can protect its
-- table (the trigger is created as the extension's owner), not another's,
-- nor zerocut's own tables.
CREATE ROLE zc_sec_owner;
GRANT USAGE ON SCHEMA zerocut TO zc_sec_owner;
GRANT EXECUTE ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) TO zc_sec_owner;
CREATE SCHEMA crypto_sec_own AUTHORIZATION zc_sec_owner;
CREATE TABLE crypto_sec_own.owned (id int, secret text);
ALTER TABLE crypto_sec_own.owned OWNER TO zc_sec_owner;
-- EXECUTE on protect_column() alone does not let one use a key: else an
-- owner who sees only the victim's blind index (no EXECUTE on blind_index)
-- protects a table of its own under the victim's key, inserts candidates
-- and joins the blind indexes (the phone is recovered).
GRANT SELECT (id, phone_bidx) ON crypto_sec_victim TO zc_sec_owner;
CREATE TABLE crypto_sec_own.o (n int, c text, c_bidx bytea);
ALTER TABLE crypto_sec_own.o OWNER TO zc_sec_owner;
SET zerocut.key_file = 'zc_regress_sec.key';  -- empties the key cache: the role's calls read the keyring
SET ROLE zc_sec_owner;
SELECT has_function_privilege('zerocut.blind_index(text, text)', 'EXECUTE') AS may_blind_index;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.o', 'c', 'default') ->> 'trigger'$$);
INSERT INTO crypto_sec_own.o SELECT g, '+86 138 0000 ' || lpad(g::text, 4, '0') FROM generate_series(1, 100) g;
SELECT count(*) AS phones_recovered FROM crypto_sec_own.o o JOIN crypto_sec_victim v ON v.phone_bidx = o.c_bidx;
SELECT count(*) AS columns_added FROM pg_attribute
WHERE attrelid = 'crypto_sec_own.o'::regclass AND attname = 'c_encrypted' AND NOT attisdropped;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.owned', 'secret', blind_index => false) ->> 'trigger'$$);
RESET ROLE;
-- EXECUTE on encrypt() is not enough either: the key itself must be granted
-- (issue 17, sql/55).  With both it may encrypt under the key, not yet make
-- a blind index; a key that does not exist is reported as such.
GRANT EXECUTE ON FUNCTION zerocut.encrypt(text, text, text) TO zc_sec_owner;
SET ROLE zc_sec_owner;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.o', 'c', blind_index => false) ->> 'trigger'$$);
RESET ROLE;
SELECT zerocut.grant_key('default', 'zc_sec_owner', decrypt => false);
SET ROLE zc_sec_owner;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.o', 'c', 'default') ->> 'trigger'$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.o', 'c', blind_index => false) ->> 'trigger'$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.owned', 'secret', 'nope', blind_index => false) ->> 'trigger'$$);
RESET ROLE;
DROP TABLE crypto_sec_own.o;
REVOKE ALL ON crypto_sec_victim FROM zc_sec_owner;
GRANT EXECUTE ON FUNCTION zerocut.blind_index(text, text) TO zc_sec_owner;
SET ROLE zc_sec_owner;
SELECT zerocut.protect_column('crypto_sec_own.owned', 'secret') ->> 'trigger' AS owner_protected;
INSERT INTO crypto_sec_own.owned VALUES (1, 'owner secret');
SELECT secret IS NULL AS blanked, secret_encrypted IS NOT NULL AS encrypted, secret_bidx IS NOT NULL AS indexed
FROM crypto_sec_own.owned;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_victim', 'phone')$$);
RESET ROLE;
SELECT zerocut.decrypt(secret_encrypted, 'crypto_sec_own.owned.secret') AS owner_row_decrypts FROM crypto_sec_own.owned;
-- Under forced row security with no policy for the owner (workspace
-- isolation), protect_column()'s checks still see every row: the foreign
-- ciphertext is found, and the rows to backfill are all counted.
CREATE TABLE crypto_sec_own.forced (id int, secret text, secret_encrypted bytea);
INSERT INTO crypto_sec_own.forced VALUES (1, 'a', '\x00'), (2, 'b', NULL), (3, 'c', NULL);
ALTER TABLE crypto_sec_own.forced OWNER TO zc_sec_owner;
ALTER TABLE crypto_sec_own.forced ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SET ROLE zc_sec_owner;
SELECT count(*) AS rows_the_owner_sees FROM crypto_sec_own.forced;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_sec_own.forced', 'secret', blind_index => false) ->> 'trigger'$$);
RESET ROLE;
UPDATE crypto_sec_own.forced SET secret_encrypted = NULL;
SET ROLE zc_sec_owner;
SELECT zerocut.protect_column('crypto_sec_own.forced', 'secret', blind_index => false) ->> 'rows_to_backfill' AS rows_to_backfill;
RESET ROLE;
DROP TABLE crypto_sec_own.forced;
-- The backfill's step (encrypt_column_batch) updates the table as its
-- owner, restricted: the owner's BEFORE UPDATE trigger does not run with the
-- rights of the superuser who ran the backfill (it would make zc_sec_owner
-- superuser); a role that does not own the table is refused.
CREATE TABLE crypto_sec_own.legacy (id int, secret text);
INSERT INTO crypto_sec_own.legacy VALUES (1, 'old secret'), (2, 'older secret');
CREATE FUNCTION crypto_sec_own.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE zc_sec_owner SUPERUSER';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_escalate BEFORE UPDATE ON crypto_sec_own.legacy FOR EACH ROW EXECUTE FUNCTION crypto_sec_own.escalate();
ALTER TABLE crypto_sec_own.legacy OWNER TO zc_sec_owner;
ALTER FUNCTION crypto_sec_own.escalate() OWNER TO zc_sec_owner;
SELECT zerocut.protect_column('crypto_sec_own.legacy', 'secret') ->> 'trigger' AS legacy_protected;
GRANT EXECUTE ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) TO zc_sec_attacker;
GRANT USAGE ON SCHEMA crypto_sec_own TO zc_sec_attacker;
SET ROLE zc_sec_attacker;
SELECT pg_temp.try($$SELECT zerocut.encrypt_column_batch('crypto_sec_own.legacy', 'secret', 0, NULL, 100)$$);
RESET ROLE;
REVOKE ALL ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) FROM zc_sec_attacker;
SELECT next_block, rows_encrypted FROM zerocut.encrypt_column_batch('crypto_sec_own.legacy', 'secret', 0, NULL, 100);
SELECT rolsuper AS owner_became_superuser FROM pg_roles WHERE rolname = 'zc_sec_owner';
SELECT count(*) FILTER (WHERE secret IS NULL AND secret_encrypted IS NOT NULL) AS encrypted, count(*) AS total
FROM crypto_sec_own.legacy;
SELECT pg_temp.try($$SELECT zerocut.protect_column('zerocut.protected_column', 'context')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('audit_log.system_log', 'message')$$);
-- A dropped table leaves the registry.
CREATE TEMP TABLE owned_oid AS SELECT 'crypto_sec_own.owned'::regclass::oid AS relid;
SELECT count(*) AS registry_rows_before_drop FROM zerocut.protected_column, owned_oid WHERE relation::oid = relid;
DROP SCHEMA crypto_sec_own CASCADE;
SELECT count(*) AS registry_rows_of_dropped FROM zerocut.protected_column, owned_oid WHERE relation::oid = relid;
REVOKE ALL ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean),
    zerocut.encrypt(text, text, text), zerocut.blind_index(text, text) FROM zc_sec_owner;
REVOKE ALL ON SCHEMA zerocut FROM zc_sec_owner, zc_sec_attacker;
REVOKE ALL ON crypto_sec_victim FROM zc_sec_attacker;
REVOKE ALL ON FUNCTION zerocut.protect_column_trigger() FROM zc_sec_owner;
SELECT zerocut.revoke_key('default', 'zc_sec_owner');
DROP ROLE zc_sec_owner, zc_sec_attacker;

-- ---------------------------------------------------------------------------
-- 2. No protected column's plaintext reaches the audit log: not through the
-- backfill (UPDATE SET col = col: old_data), not through keep_plaintext,
-- not in statement mode, not for a partition.
CREATE TABLE crypto_sec_users (id int PRIMARY KEY, name text, phone text, phone_encrypted bytea);
INSERT INTO crypto_sec_users SELECT g, 'u' || g, '+86 139 7000 ' || lpad(g::text, 4, '0') FROM generate_series(1, 40) g;
CREATE TABLE crypto_sec_stmt (id int PRIMARY KEY, phone text);
INSERT INTO crypto_sec_stmt SELECT g, '+86 139 7100 ' || lpad(g::text, 4, '0') FROM generate_series(1, 40) g;
CREATE TABLE crypto_sec_kept (id int PRIMARY KEY, name text, phone text);
INSERT INTO crypto_sec_kept SELECT g, 'k' || g, '+86 139 7200 ' || lpad(g::text, 4, '0') FROM generate_series(1, 10) g;
CREATE TABLE crypto_sec_parted (id int, d date, phone text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE TABLE crypto_sec_parted_1998 PARTITION OF crypto_sec_parted FOR VALUES FROM ('1998-01-01') TO ('1999-01-01');
INSERT INTO crypto_sec_parted SELECT g, '1998-03-01', '+86 139 7300 ' || lpad(g::text, 4, '0') FROM generate_series(1, 10) g;
SELECT zerocut.enable_audit('crypto_sec_users'), zerocut.enable_audit('crypto_sec_stmt', mode => 'statement'),
       zerocut.enable_audit('crypto_sec_kept'), zerocut.enable_audit('crypto_sec_parted');
-- An audited change before protection is logged in clear (not protected yet).
UPDATE crypto_sec_users SET phone = '+86 139 7000 9999' WHERE id = 40;
SELECT count(*) AS clear_before_protection FROM audit_log.system_log WHERE metadata::text LIKE '%+86 139 7000 9999%';
SELECT zerocut.protect_column('crypto_sec_users', 'phone') IS NOT NULL,
       zerocut.protect_column('crypto_sec_stmt', 'phone') IS NOT NULL,
       zerocut.protect_column('crypto_sec_kept', 'phone', keep_plaintext => true) IS NOT NULL,
       zerocut.protect_column('crypto_sec_parted', 'phone') IS NOT NULL;
CREATE TEMP TABLE log_mark AS SELECT coalesce(max(id), 0) AS id FROM audit_log.system_log;
CALL zerocut.encrypt_column_backfill('crypto_sec_users', 'phone', 10);
CALL zerocut.encrypt_column_backfill('crypto_sec_stmt', 'phone');
CALL zerocut.encrypt_column_backfill('crypto_sec_kept', 'phone');
CALL zerocut.encrypt_column_backfill('crypto_sec_parted', 'phone');
UPDATE crypto_sec_users SET phone = '+86 139 7000 0777' WHERE id = 7;
INSERT INTO crypto_sec_users VALUES (41, 'u41', '+86 139 7000 0041');
DELETE FROM crypto_sec_users WHERE id = 2;
UPDATE crypto_sec_stmt SET phone = '+86 139 7100 0777' WHERE id < 5;
UPDATE crypto_sec_kept SET name = 'renamed' WHERE id = 3;
DELETE FROM crypto_sec_kept WHERE id = 4;
INSERT INTO crypto_sec_parted VALUES (11, '1998-04-01', '+86 139 7300 0011');
SELECT count(*) FILTER (WHERE phone IS NULL AND phone_encrypted IS NOT NULL) AS encrypted, count(*) AS users
FROM crypto_sec_users;
-- Every change since protection is logged, and no phone is in the log.
SELECT metadata ->> 'table' AS tbl, metadata ->> 'operation' AS op, count(*) AS log_rows
FROM audit_log.system_log WHERE id > (SELECT id FROM log_mark) AND metadata ? 'operation'
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS log_rows_with_a_phone FROM audit_log.system_log
WHERE id > (SELECT id FROM log_mark) AND (metadata::text || message) LIKE '%+86 139 7%';
SELECT DISTINCT metadata -> 'old_data' -> 'phone' AS old_phone, metadata -> 'new_data' -> 'phone' AS new_phone
FROM audit_log.system_log
WHERE id > (SELECT id FROM log_mark) AND metadata ->> 'table' = 'crypto_sec_users' AND metadata ->> 'operation' = 'UPDATE';
SELECT metadata -> 'old_data' ->> 'phone' AS kept_plaintext_logged_as
FROM audit_log.system_log
WHERE id > (SELECT id FROM log_mark) AND metadata ->> 'table' = 'crypto_sec_kept' AND metadata ->> 'operation' = 'DELETE';
SELECT zerocut.disable_audit('crypto_sec_users'), zerocut.disable_audit('crypto_sec_stmt'),
       zerocut.disable_audit('crypto_sec_kept'), zerocut.disable_audit('crypto_sec_parted');
DROP TABLE crypto_sec_users, crypto_sec_stmt, crypto_sec_kept, crypto_sec_parted;
DELETE FROM audit_log.system_log WHERE metadata ->> 'table' LIKE 'crypto_sec%' OR message LIKE '%crypto_sec%';

-- ---------------------------------------------------------------------------
-- 3. create_key and rotate_key refuse a root key that is not the keyring's.
SET zerocut.key_file = 'zc_regress_sec_other.key';
SELECT pg_temp.try($$SELECT zerocut.create_key('made_under_other_root')$$);
SELECT pg_temp.try($$SELECT zerocut.rotate_key('default')$$);
SET zerocut.key_file = 'zc_regress_sec.key';
SELECT name, version, status FROM zerocut.encryption_keys ORDER BY id;
SELECT zerocut.decrypt(zerocut.encrypt('right root key again')) AS decrypts;

-- ---------------------------------------------------------------------------
-- 4. Version 1 of a key (its blind indexes) cannot be deleted while other
-- versions remain; if it is gone anyway, blind_index() says so.
SELECT zerocut.create_key('lookup') > 0 AS created, zerocut.rotate_key('lookup') > 0 AS rotated;
CREATE TEMP TABLE bidx_before AS SELECT zerocut.blind_index('+86 138 0000 0042', 'lookup') AS b;
SELECT pg_temp.try($$DELETE FROM zerocut.encryption_keys WHERE name = 'lookup' AND version = 1 RETURNING id$$);
SELECT pg_temp.try($$UPDATE zerocut.encryption_keys SET version = 3 WHERE name = 'lookup' AND version = 1 RETURNING id$$);
SELECT zerocut.blind_index('+86 138 0000 0042', 'lookup') = b AS blind_index_unchanged FROM bidx_before;
-- (gone anyway: the guard bypassed by its owner)
ALTER TABLE zerocut.encryption_keys DISABLE TRIGGER keep_first_version_on_delete;
DELETE FROM zerocut.encryption_keys WHERE name = 'lookup' AND version = 1;
ALTER TABLE zerocut.encryption_keys ENABLE TRIGGER keep_first_version_on_delete;
SELECT pg_temp.try($$SELECT zerocut.blind_index('+86 138 0000 0042', 'lookup') = b FROM bidx_before$$);
-- Deleting every version of a key drops it.
DELETE FROM zerocut.encryption_keys WHERE name = 'lookup';
SELECT count(*) AS lookup_versions_left FROM zerocut.encryption_keys WHERE name = 'lookup';

-- ---------------------------------------------------------------------------
-- 6. The key-file HINT's setup works in a fresh session (the library is not
-- loaded there until LOAD or a zerocut function).
RESET zerocut.key_file;
SELECT pg_temp.try($$SELECT zerocut.encrypt('x')$$);
\c
LOAD 'zerocut';
ALTER SYSTEM SET zerocut.key_file = 'zc_regress_sec.key';
SELECT setting, error FROM pg_file_settings WHERE name = 'zerocut.key_file';
ALTER SYSTEM RESET zerocut.key_file;
SELECT count(*) AS left_in_auto_conf FROM pg_file_settings WHERE name = 'zerocut.key_file';
SET zerocut.key_file = 'zc_regress_sec.key';

-- Leave the database as it was.
DROP TABLE crypto_sec_victim;
SELECT count(*) AS registry_rows FROM zerocut.protected_column;
DELETE FROM zerocut.encryption_keys;
ALTER SEQUENCE zerocut.encryption_keys_id_seq RESTART;
DELETE FROM audit_log.system_log WHERE message LIKE 'crypto:%';
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_sec.key zc_regress_sec_other.key';
