-- Keyring: root key file (zerocut.key_file), data keys, AES-256-GCM
-- envelopes, rotation, blind indexes, privileges.
-- pg_temp.try(sql) runs one statement and shows its result or its error
-- as SQLSTATE | message | hint.
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
-- True when decrypting `ct` is refused with a clean ERROR (never garbage).
CREATE FUNCTION pg_temp.rejected(ct bytea, ctx text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM zerocut.decrypt_bytea(ct, ctx);
    RETURN false;
EXCEPTION WHEN invalid_parameter_value OR undefined_object THEN
    RETURN true;
END
$$;
-- A root key file written by the server (its own user), never shown in SQL.
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'umask 077 && cat > zc_regress_crypto.key';

-- Without a usable key file nothing works, with a HINT, and nothing changes.
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
SET zerocut.key_file = 'zc_regress_crypto_missing.key';
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
COPY (SELECT 'abc') TO PROGRAM 'umask 077 && cat > zc_regress_short.key';
SET zerocut.key_file = 'zc_regress_short.key';
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
COPY (SELECT repeat('g', 64)) TO PROGRAM 'umask 077 && cat > zc_regress_short.key';
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
COPY (SELECT repeat('a', 64)) TO PROGRAM 'umask 077 && cat > zc_regress_short.key && chmod 640 zc_regress_short.key';
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
SET zerocut.key_file = 'base';
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
SELECT count(*) AS keys_after_failures FROM zerocut.encryption_keys;

SET zerocut.key_file = 'zc_regress_crypto.key';
SELECT zerocut.create_key('default') AS default_id, zerocut.create_key('billing') AS billing_id;
SELECT id, name, version, status, length(wrapped_key) AS wrapped_bytes FROM zerocut.encryption_keys ORDER BY id;

-- Round trips: empty, Unicode, 1 MB, bytea with zero bytes, contexts.
SELECT zerocut.decrypt(zerocut.encrypt('')) = '' AS empty,
       zerocut.decrypt(zerocut.encrypt('手机 +86 138 0013 8000 ✓')) AS unicode,
       length(zerocut.encrypt('')) AS empty_envelope_bytes,
       zerocut.decrypt(zerocut.encrypt(repeat('é', 524288))) = repeat('é', 524288) AS one_mb_text,
       zerocut.decrypt_bytea(zerocut.encrypt('\x00000100ff00'::bytea)) = '\x00000100ff00'::bytea AS zero_bytes,
       zerocut.decrypt(zerocut.encrypt('ctx', 'billing', 'user_management.USER.phone:42'),
                       'user_management.USER.phone:42') AS with_context,
       zerocut.decrypt(zerocut.encrypt('text as bytes')::bytea) AS default_args;
SELECT length(b) AS mb_bytes, zerocut.decrypt_bytea(zerocut.encrypt(b)) = b AS one_mb_bytea
FROM (SELECT decode(repeat('00ff7f80', 262144), 'hex') AS b) s;
-- Random nonce: the same plaintext never gives the same ciphertext.
SELECT zerocut.encrypt('same') <> zerocut.encrypt('same') AS nonces_differ,
       (SELECT count(DISTINCT substr(zerocut.encrypt('same'), 10, 12)) FROM generate_series(1, 5000)) AS distinct_nonces_of_5000;
-- Header: magic ZCE, version 1, type, key id (big-endian).
SELECT substr(zerocut.encrypt('x', 'billing'), 1, 9) AS header_text,
       substr(zerocut.encrypt('x'::bytea), 1, 9) AS header_bytea;
-- NULL data gives NULL; NULL key name is an error.
SELECT zerocut.encrypt(NULL::text) IS NULL AS enc_null, zerocut.decrypt(NULL) IS NULL AS dec_null,
       zerocut.blind_index(NULL) IS NULL AS bidx_null, zerocut.reencrypt(NULL) IS NULL AS reenc_null;
SELECT pg_temp.try($$SELECT zerocut.encrypt('a', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.blind_index('a', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.encrypt('a', 'nope')$$);
SELECT pg_temp.try($$SELECT zerocut.encrypt('a', 'x"; DROP TABLE y; --')$$);

-- Every flipped byte and every truncation is rejected; so is a wrong context.
CREATE TEMP TABLE ct AS SELECT zerocut.encrypt('+86 138 0013 8000', 'default', 'row:1') AS c;
SELECT length(c) AS bytes,
       (SELECT count(*) FROM generate_series(0, length(c) - 1) i
        WHERE pg_temp.rejected(set_byte(c, i, get_byte(c, i) # 1), 'row:1')) AS low_bit_flips_rejected,
       (SELECT count(*) FROM generate_series(0, length(c) - 1) i
        WHERE pg_temp.rejected(set_byte(c, i, get_byte(c, i) # 128), 'row:1')) AS high_bit_flips_rejected,
       (SELECT count(*) FROM generate_series(0, length(c) - 1) n
        WHERE pg_temp.rejected(substr(c, 1, n), 'row:1')) AS truncations_rejected,
       pg_temp.rejected(c || '\x00'::bytea, 'row:1') AS extension_rejected,
       pg_temp.rejected(c, 'row:1') AS original_rejected
FROM ct;
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'row:2') FROM ct$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt(c) FROM ct$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, '') FROM ct$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt('\x00'::bytea)$$);
-- An OpenPGP message (pgcrypto), a header naming key 9999, version 2, type 'x'.
SELECT pg_temp.try($$SELECT zerocut.decrypt(decode('c30d04070302' || repeat('ab', 40), 'hex'))$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt('\x5a434501740000270f'::bytea || decode(repeat('00', 28), 'hex'))$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt('\x5a434502740000000001'::bytea || decode(repeat('00', 28), 'hex'))$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt('\x5a434501780000000001'::bytea || decode(repeat('00', 28), 'hex'))$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt(zerocut.encrypt('\xff'::bytea))$$);

-- Rotation: the new version is active, old ciphertexts still decrypt,
-- reencrypt() moves them; the blind index does not change.
CREATE TEMP TABLE before_rotation AS
SELECT zerocut.encrypt('old secret', 'default', 'r') AS c, zerocut.blind_index('+86 138') AS b;
SELECT zerocut.rotate_key('default') AS new_id;
SELECT name, version, status FROM zerocut.encryption_keys ORDER BY id;
SELECT zerocut.decrypt(c, 'r') AS old_still_decrypts,
       get_byte(c, 8) AS old_key_id,
       get_byte(zerocut.reencrypt(c, 'r'), 8) AS reencrypted_key_id,
       zerocut.decrypt(zerocut.reencrypt(c, 'r'), 'r') AS reencrypted_decrypts,
       get_byte(zerocut.encrypt('new'), 8) AS new_key_id,
       zerocut.reencrypt(zerocut.reencrypt(c, 'r'), 'r') IS NOT NULL AS reencrypt_idempotent_ok,
       zerocut.blind_index('+86 138') = b AS blind_index_stable
FROM before_rotation;
SELECT (SELECT zerocut.reencrypt(x, 'r') = x FROM (SELECT zerocut.reencrypt(c, 'r') AS x FROM before_rotation) s)
    AS active_unchanged;
SELECT pg_temp.try($$SELECT zerocut.reencrypt(c, 'wrong') FROM before_rotation$$);
-- Rotation in an aborted transaction leaves the previous version active.
BEGIN;
SELECT zerocut.rotate_key('default') > 0 AS rotated;
SELECT get_byte(zerocut.encrypt('in tx'), 8) AS key_id_in_tx;
ROLLBACK;
SELECT get_byte(zerocut.encrypt('after rollback'), 8) AS key_id_after_rollback;
SELECT pg_temp.try($$SELECT zerocut.rotate_key('nope')$$);
SELECT pg_temp.try($$SELECT zerocut.create_key('default')$$);
SELECT pg_temp.try($$SELECT zerocut.create_key('')$$);
SELECT pg_temp.try($$SELECT zerocut.create_key(repeat('k', 64))$$);
SELECT pg_temp.try($$SELECT zerocut.create_key(NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.rotate_key(NULL)$$);
-- A hostile name is only data.
SELECT zerocut.create_key('x"; DROP TABLE y; --') > 0 AS hostile_name_created;
SELECT zerocut.decrypt(zerocut.encrypt('ok', 'x"; DROP TABLE y; --')) AS hostile_key_works;
-- Deleting a key by hand reaches the key cache at once: its ciphertexts no
-- longer decrypt (the keyring's statement trigger invalidates the cache).
CREATE TEMP TABLE hostile AS SELECT zerocut.encrypt('h', 'x"; DROP TABLE y; --') AS c;
SELECT zerocut.decrypt(c) AS cached FROM hostile;
DELETE FROM zerocut.encryption_keys WHERE name = 'x"; DROP TABLE y; --';
SELECT pg_temp.try($$SELECT zerocut.decrypt(c) FROM hostile$$);
SELECT pg_temp.try($$SELECT zerocut.encrypt('h', 'x"; DROP TABLE y; --')$$);

-- Blind index: deterministic per key name, 32 bytes, different per name.
SELECT length(zerocut.blind_index('a')) AS bytes,
       zerocut.blind_index('a') = zerocut.blind_index('a') AS deterministic,
       zerocut.blind_index('a') <> zerocut.blind_index('b') AS distinct_values,
       zerocut.blind_index('a') <> zerocut.blind_index('a', 'billing') AS distinct_keys,
       zerocut.blind_index('') IS NOT NULL AS empty_ok,
       zerocut.blind_index('abc'::bytea) = zerocut.blind_index('abc') AS bytea_same_bytes;

-- A different root key cannot unwrap the data keys (clear error, no garbage).
COPY (SELECT repeat('ab', 32)) TO PROGRAM 'rm -f zc_regress_short.key && umask 077 && cat > zc_regress_short.key';
SET zerocut.key_file = 'zc_regress_short.key';
SELECT pg_temp.try($$SELECT zerocut.encrypt('x')$$);
SET zerocut.key_file = 'zc_regress_crypto.key';
SELECT zerocut.decrypt(zerocut.encrypt('back')) AS right_key_again;

-- Privileges: a non-superuser granted encrypt/decrypt, and the key it may
-- use (sql/55_crypto_key_grants.sql tests key grants), uses the keyring but
-- cannot read the keys, manage keys, or see or change the GUC.
CREATE ROLE zc_crypto_app;
GRANT USAGE ON SCHEMA zerocut TO zc_crypto_app;
GRANT EXECUTE ON FUNCTION zerocut.encrypt(text, text, text), zerocut.decrypt(bytea, text) TO zc_crypto_app;
SELECT zerocut.grant_key('billing', 'zc_crypto_app');
SET zerocut.key_file = 'zc_regress_crypto.key';  -- setting it empties the key cache: the role reads the keyring
SET ROLE zc_crypto_app;
SELECT zerocut.decrypt(zerocut.encrypt('app data', 'billing', 'c'), 'c') AS app_round_trip;
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.encryption_keys$$);
SELECT pg_temp.try($$SELECT zerocut.create_key('mine')$$);
SELECT pg_temp.try($$SELECT zerocut.rotate_key('default')$$);
SELECT pg_temp.try($$SELECT zerocut.blind_index('a')$$);
-- (only the SQLSTATE: the message's wording changed in PostgreSQL 16)
SELECT split_part(pg_temp.try($$SELECT current_setting('zerocut.key_file')$$), ' | ', 1) AS read_key_file;
SELECT pg_temp.try($$SELECT set_config('zerocut.key_file', '/tmp/mine.key', false)$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt_bytea(zerocut.encrypt('x'))$$);
RESET ROLE;
REVOKE ALL ON FUNCTION zerocut.encrypt(text, text, text), zerocut.decrypt(bytea, text) FROM zc_crypto_app;
SELECT zerocut.revoke_key('billing', 'zc_crypto_app');
REVOKE USAGE ON SCHEMA zerocut FROM zc_crypto_app;
DROP ROLE zc_crypto_app;

-- Leave the database as it was.
RESET zerocut.key_file;
DELETE FROM zerocut.encryption_keys;
ALTER SEQUENCE zerocut.encryption_keys_id_seq RESTART;
DELETE FROM audit_log.system_log WHERE message LIKE 'crypto:%';
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_crypto.key zc_regress_short.key';
