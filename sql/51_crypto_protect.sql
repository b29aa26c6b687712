-- protect_column(): "USER".phone encrypted by a trigger, blind-index
-- lookups, batched backfill, no double encryption, bad input.
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
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_protect.key && umask 077 && cat > zc_regress_protect.key';
SET zerocut.key_file = 'zc_regress_protect.key';
SELECT zerocut.create_key('default') AS key_id;

-- Existing users with plaintext phones (the seed's starting point).
INSERT INTO user_management."USER" (email, password_hash, username, phone)
SELECT 'crypto' || g || '@example.com', 'x', 'crypto' || g,
       CASE WHEN g % 10 = 0 THEN NULL ELSE '+86 138 ' || lpad(g::text, 8, '0') END
FROM generate_series(1, 300) g;

-- "USER" already has phone_encrypted (bytea, empty): it is reused.
SELECT zerocut.protect_column('user_management."USER"', 'phone') AS protected;
SELECT tgname, pg_get_triggerdef(oid) ~ 'BEFORE INSERT OR UPDATE' AS before_insert_or_update
FROM pg_trigger WHERE tgrelid = 'user_management."USER"'::regclass AND tgname LIKE 'zc_protect%';
SELECT indexrelid::regclass AS bidx_index FROM pg_index
WHERE indrelid = 'user_management."USER"'::regclass
  AND indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = indrelid AND attname = 'phone_bidx');

-- Backfill in committed batches (about 50 rows each).
CALL zerocut.encrypt_column_backfill('user_management."USER"', 'phone', 50);
SELECT count(*) AS users, count(phone) AS plaintext_left, count(phone_encrypted) AS encrypted,
       count(phone_bidx) AS indexed
FROM user_management."USER" WHERE email LIKE 'crypto%';
SELECT count(*) AS decrypt_mismatches FROM user_management."USER"
WHERE email LIKE 'crypto%' AND phone_encrypted IS NOT NULL
  AND zerocut.decrypt(phone_encrypted, 'user_management.USER.phone')
      <> '+86 138 ' || lpad(substring(email FROM 'crypto(\d+)@'), 8, '0');
-- A second run finds nothing to do and changes nothing.
CREATE TEMP TABLE snapshot AS SELECT id, phone_encrypted FROM user_management."USER" WHERE email LIKE 'crypto%';
CALL zerocut.encrypt_column_backfill('user_management."USER"', 'phone');
SELECT count(*) AS changed_by_second_run FROM snapshot s JOIN user_management."USER" u USING (id)
WHERE u.phone_encrypted IS DISTINCT FROM s.phone_encrypted;
SELECT message FROM audit_log.system_log WHERE message LIKE 'crypto:%' ORDER BY id;

-- Lookup by blind index uses the index.
SELECT email, zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS phone
FROM user_management."USER" WHERE phone_bidx = zerocut.blind_index('+86 138 00000042');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM user_management."USER" WHERE phone_bidx = zerocut.blind_index('+86 138 00000042');
RESET enable_seqscan;

-- New rows and updates are encrypted by the trigger; plaintext is never stored.
INSERT INTO user_management."USER" (email, password_hash, username, phone)
VALUES ('crypto-new@example.com', 'x', 'new', '+1 555 0100');
SELECT phone IS NULL AS plaintext_blank, zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS phone,
       phone_bidx = zerocut.blind_index('+1 555 0100') AS bidx_ok
FROM user_management."USER" WHERE email = 'crypto-new@example.com';
UPDATE user_management."USER" SET phone = '+1 555 0199' WHERE email = 'crypto-new@example.com';
SELECT phone IS NULL AS plaintext_blank, zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS phone,
       phone_bidx = zerocut.blind_index('+1 555 0199') AS bidx_ok
FROM user_management."USER" WHERE email = 'crypto-new@example.com';
-- Updating another column keeps the ciphertext as it is.
CREATE TEMP TABLE before_update AS SELECT phone_encrypted FROM user_management."USER" WHERE email = 'crypto-new@example.com';
UPDATE user_management."USER" SET username = 'renamed' WHERE email = 'crypto-new@example.com';
SELECT u.phone_encrypted = b.phone_encrypted AS ciphertext_kept
FROM user_management."USER" u, before_update b WHERE email = 'crypto-new@example.com';
-- Clearing both clears the blind index.
UPDATE user_management."USER" SET phone = NULL, phone_encrypted = NULL WHERE email = 'crypto-new@example.com';
SELECT phone_bidx IS NULL AS bidx_cleared FROM user_management."USER" WHERE email = 'crypto-new@example.com';

-- A restored row (ciphertext only) is never encrypted twice; its blind
-- index is recomputed from the authenticated ciphertext.
INSERT INTO user_management."USER" (email, password_hash, username, phone_encrypted)
SELECT 'crypto-restored@example.com', 'x', 'restored', phone_encrypted
FROM user_management."USER" WHERE email = 'crypto42@example.com';
SELECT r.phone_encrypted = o.phone_encrypted AS same_ciphertext, r.phone_bidx = o.phone_bidx AS same_bidx,
       zerocut.decrypt(r.phone_encrypted, 'user_management.USER.phone') AS phone
FROM user_management."USER" r, user_management."USER" o
WHERE r.email = 'crypto-restored@example.com' AND o.email = 'crypto42@example.com';
-- Garbage or a ciphertext of another column is refused; nothing is written.
SELECT pg_temp.try($$INSERT INTO user_management."USER" (email, password_hash, username, phone_encrypted)
                     VALUES ('crypto-bad@example.com', 'x', 'bad', '\xdeadbeef') RETURNING id$$);
SELECT pg_temp.try($$INSERT INTO user_management."USER" (email, password_hash, username, phone_encrypted)
                     VALUES ('crypto-bad@example.com', 'x', 'bad', zerocut.encrypt('+1', 'default', 'other.table.col'))
                     RETURNING id$$);
SELECT count(*) AS bad_rows FROM user_management."USER" WHERE email = 'crypto-bad@example.com';

-- keep_plaintext, a bytea column, a hostile column name, a partitioned table.
CREATE TABLE crypto_docs (id int PRIMARY KEY, "x""; DROP TABLE y; --" text NOT NULL, blob bytea);
INSERT INTO crypto_docs VALUES (1, 'kept', '\x00ff00');
SELECT zerocut.protect_column('crypto_docs', 'x"; DROP TABLE y; --', keep_plaintext => true) ->> 'encrypted_column' AS enc;
SELECT zerocut.protect_column('crypto_docs', 'blob', blind_index => false) ->> 'rows_to_backfill' AS pending;
CALL zerocut.encrypt_column_backfill('crypto_docs', 'blob');
CALL zerocut.encrypt_column_backfill('crypto_docs', 'x"; DROP TABLE y; --');
SELECT "x""; DROP TABLE y; --" AS kept_plaintext,
       zerocut.decrypt("x""; DROP TABLE y; --_encrypted", 'public.crypto_docs.x"; DROP TABLE y; --') AS decrypted,
       blob IS NULL AS blob_blank, zerocut.decrypt_bytea(blob_encrypted, 'public.crypto_docs.blob') AS blob
FROM crypto_docs;
-- A ciphertext written into the bytea column itself is moved, not re-encrypted.
INSERT INTO crypto_docs (id, "x""; DROP TABLE y; --", blob)
SELECT 2, 'two', blob_encrypted FROM crypto_docs WHERE id = 1;
SELECT blob IS NULL AS blob_blank, zerocut.decrypt_bytea(blob_encrypted, 'public.crypto_docs.blob') AS blob
FROM crypto_docs WHERE id = 2;
CREATE TABLE crypto_parted (d date, secret text) PARTITION BY RANGE (d);
CREATE TABLE crypto_parted_1998 PARTITION OF crypto_parted FOR VALUES FROM ('1998-01-01') TO ('1999-01-01');
CREATE TABLE crypto_parted_1999 PARTITION OF crypto_parted FOR VALUES FROM ('1999-01-01') TO ('2000-01-01');
INSERT INTO crypto_parted SELECT '1998-01-01'::date + g, 's' || g FROM generate_series(1, 600) g;
SELECT zerocut.protect_column('crypto_parted', 'secret') ->> 'rows_to_backfill' AS pending;
CALL zerocut.encrypt_column_backfill('crypto_parted', 'secret', 100);
SELECT count(secret) AS plaintext_left, count(secret_encrypted) AS encrypted,
       count(*) FILTER (WHERE zerocut.decrypt(secret_encrypted, 'public.crypto_parted.secret') = 's' || (d - '1998-01-01'::date)) AS correct
FROM crypto_parted;

-- Bad input: clear errors, nothing changed.
CREATE VIEW crypto_view AS SELECT 1 AS a;
CREATE TABLE crypto_misc (id int, n int, p text NOT NULL, old_enc text, q text, q_encrypted text);
INSERT INTO crypto_misc VALUES (1, 1, 'p', NULL, 'q', NULL);
SELECT pg_temp.try($$SELECT zerocut.protect_column(NULL, 'phone')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'p', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'p', blind_index => NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'p', keep_plaintext => NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_view', 'a')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'x"; DROP TABLE y; --')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', '')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'n')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'p')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'q')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'p', 'nope', keep_plaintext => true)$$);
ALTER TABLE crypto_misc ADD COLUMN pppppppppppppppppppppppppppppppppppppppppppppppppppppp text;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', repeat('p', 54))$$);
ALTER TABLE crypto_misc DROP COLUMN pppppppppppppppppppppppppppppppppppppppppppppppppppppp;
-- A name with a dot would make the context (schema.table.column) ambiguous.
CREATE TABLE "crypto.dotted" (p text, "p.q" text);
CREATE TABLE crypto_dotted_col ("p.q" text);
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_dotted_col', 'p.q')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('"crypto.dotted"', 'p')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column('"crypto.dotted"', 'p.q')$$);
SELECT count(*) AS dotted_columns FROM pg_attribute
WHERE attrelid IN ('"crypto.dotted"'::regclass, 'crypto_dotted_col'::regclass) AND attnum > 0 AND NOT attisdropped;
-- A column recorded with that very context before (by 0.1.0) may be protected again.
INSERT INTO zerocut.protected_column (relation, column_name, key_name, context, blind_index_column, keep_plaintext)
VALUES ('crypto_dotted_col', 'p.q', 'default', 'public.crypto_dotted_col.p.q', 'p.q_bidx', false);
SELECT zerocut.protect_column('crypto_dotted_col', 'p.q') ->> 'context' AS reprotected;
DROP TABLE "crypto.dotted", crypto_dotted_col;
SELECT pg_temp.try($$SELECT zerocut.protect_column('nosuch_table', 'p')$$);
SELECT pg_temp.try($$SELECT zerocut.protect_column(0, 'p')$$);
SELECT attname FROM pg_attribute WHERE attrelid = 'crypto_misc'::regclass AND attnum > 0 ORDER BY attnum;
SELECT count(*) AS triggers_on_misc FROM pg_trigger WHERE tgrelid = 'crypto_misc'::regclass;
-- Existing non-zerocut data in <col>_encrypted (e.g. the seed's pgcrypto output) is refused.
ALTER TABLE crypto_misc ADD COLUMN p_encrypted bytea;
UPDATE crypto_misc SET p_encrypted = '\xc30d0407';
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_misc', 'p', keep_plaintext => true)$$);
SELECT pg_temp.try($$CALL zerocut.encrypt_column_backfill('crypto_misc', 'p')$$);
SELECT pg_temp.try($$CALL zerocut.encrypt_column_backfill('crypto_docs', 'blob', 0)$$);
SELECT pg_temp.try($$CALL zerocut.encrypt_column_backfill('crypto_docs', 'blob', -5)$$);
SELECT pg_temp.try($$CALL zerocut.encrypt_column_backfill(NULL, 'blob')$$);
SELECT pg_temp.try($$SELECT * FROM zerocut.encrypt_column_batch('crypto_docs', 'blob', -1, NULL, 10)$$);
SELECT pg_temp.try($$SELECT * FROM zerocut.encrypt_column_batch('crypto_docs', 'blob', 0, 5000000000, 10)$$);
BEGIN;
CALL zerocut.encrypt_column_backfill('crypto_docs', 'blob');
ROLLBACK;
-- Trigger misuse.
SELECT pg_temp.try($$SELECT zerocut.protect_column_trigger()$$);
CREATE TRIGGER bad AFTER INSERT ON crypto_misc FOR EACH ROW EXECUTE FUNCTION zerocut.protect_column_trigger('p', 'default', 'true', 'false', 'c');
SELECT pg_temp.try($$INSERT INTO crypto_misc VALUES (2, 2, 'p') RETURNING id$$);
DROP TRIGGER bad ON crypto_misc;
CREATE TRIGGER bad BEFORE INSERT ON crypto_misc FOR EACH ROW EXECUTE FUNCTION zerocut.protect_column_trigger('p');
SELECT pg_temp.try($$INSERT INTO crypto_misc VALUES (2, 2, 'p') RETURNING id$$);
DROP TRIGGER bad ON crypto_misc;
-- Only the table owner may protect a column.
CREATE ROLE zc_crypto_other;
GRANT USAGE ON SCHEMA zerocut TO zc_crypto_other;
GRANT EXECUTE ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) TO zc_crypto_other;
-- An application role with only INSERT/SELECT on the table: the trigger
-- encrypts its rows (it reads the keyring as the keyring's owner), but the
-- role itself cannot decrypt or read the keys.
GRANT INSERT, SELECT ON crypto_docs TO zc_crypto_other;
SET zerocut.key_file = 'zc_regress_protect.key';  -- setting it empties the key cache: the role's insert reads the keyring
SET ROLE zc_crypto_other;
SELECT pg_temp.try($$SELECT zerocut.protect_column('crypto_docs', 'blob')$$);
INSERT INTO crypto_docs (id, "x""; DROP TABLE y; --", blob) VALUES (3, 'from app', '\x0a0b');
SELECT id, blob IS NULL AS blob_blank, blob_encrypted IS NOT NULL AS blob_encrypted FROM crypto_docs WHERE id = 3;
SELECT pg_temp.try($$SELECT zerocut.decrypt_bytea(blob_encrypted, 'public.crypto_docs.blob') FROM crypto_docs WHERE id = 3$$);
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.encryption_keys$$);
RESET ROLE;
SELECT zerocut.decrypt_bytea(blob_encrypted, 'public.crypto_docs.blob') AS app_row_decrypts FROM crypto_docs WHERE id = 3;
REVOKE ALL ON crypto_docs FROM zc_crypto_other;
REVOKE ALL ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) FROM zc_crypto_other;
REVOKE USAGE ON SCHEMA zerocut FROM zc_crypto_other;
DROP ROLE zc_crypto_other;

-- Leave the database as it was.
DELETE FROM user_management."USER" WHERE email LIKE 'crypto%';
DROP TRIGGER zc_protect_phone ON user_management."USER";
DELETE FROM zerocut.protected_column WHERE relation = 'user_management."USER"'::regclass;
ALTER TABLE user_management."USER" DROP COLUMN phone_bidx;
DROP TABLE crypto_docs, crypto_parted, crypto_misc;
DROP VIEW crypto_view;
RESET zerocut.key_file;
DELETE FROM zerocut.encryption_keys;
ALTER SEQUENCE zerocut.encryption_keys_id_seq RESTART;
DELETE FROM audit_log.system_log WHERE message LIKE 'crypto:%';
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_protect.key';
