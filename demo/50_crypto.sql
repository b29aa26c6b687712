\echo '== crypto: the seed''s way (pgcrypto, key in the SQL text) still works ...'
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT zerocut.decrypt_sensitive_data(zerocut.encrypt_sensitive_data('+86 138 0013 8000', 'your-encryption-key'),
                                      'your-encryption-key') AS seed_round_trip;
\echo '   ... but the key travels in every statement (server log on error, pg_stat_statements, pgaudit),'
\echo '   and its S2K key derivation costs ~0.3 ms per call.  The keyring keeps the key on the server:'

\echo
\echo '== a root key file owned by the server''s user, mode 0600 (normally: openssl rand -hex 32 > zerocut.key)'
COPY (SELECT encode(sha256((gen_random_uuid()::text || clock_timestamp()::text)::bytea), 'hex'))
    TO PROGRAM 'umask 077 && cat > zerocut.key';
ALTER SYSTEM SET zerocut.key_file = 'zerocut.key';
SELECT pg_reload_conf();
SET zerocut.key_file = 'zerocut.key';   -- this session, without waiting for the reload
SELECT zerocut.create_key('default') AS key_id;
SELECT id, name, version, status, length(wrapped_key) AS wrapped_bytes FROM zerocut.encryption_keys;

\echo
\echo '== protect_column("USER".phone): reuses the empty phone_encrypted, adds phone_bidx + index + trigger'
SELECT jsonb_pretty(zerocut.protect_column('user_management."USER"', 'phone'));
\timing on
CALL zerocut.encrypt_column_backfill('user_management."USER"', 'phone', 100);
\timing off
SELECT count(*) AS users, count(phone) AS plaintext_phones, count(phone_encrypted) AS encrypted,
       count(phone_bidx) AS blind_indexed
FROM user_management."USER";

\echo
\echo '== new and changed phones are encrypted by the trigger; the plaintext is never stored'
UPDATE user_management."USER" SET phone = '+86 139 0000 4242' WHERE id = 7;
SELECT id, phone, left(phone_encrypted::text, 26) || '...' AS phone_encrypted,
       zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS decrypted
FROM user_management."USER" WHERE id = 7;

\echo
\echo '== lookup by blind index (equality search without decrypting the table)'
SELECT id, username, zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS phone
FROM user_management."USER" WHERE phone_bidx = zerocut.blind_index('+86 139 0000 4242');
EXPLAIN (COSTS OFF) SELECT id FROM user_management."USER" WHERE phone_bidx = zerocut.blind_index('+86 139 0000 4242');

\echo
\echo '== tampering or a wrong context is an error, never garbage'
DO $$
DECLARE c bytea; state text; msg text;
BEGIN
    SELECT phone_encrypted INTO c FROM user_management."USER" WHERE id = 7;
    BEGIN
        PERFORM zerocut.decrypt(set_byte(c, 30, get_byte(c, 30) # 1), 'user_management.USER.phone');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RAISE NOTICE 'one flipped bit: % %', state, msg;
    END;
    BEGIN
        PERFORM zerocut.decrypt(c, 'some.other.column');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RAISE NOTICE 'wrong context: % %', state, msg;
    END;
END $$;

\echo
\echo '== rotation: a new version becomes active; old ciphertexts still decrypt; reencrypt() moves them'
SELECT zerocut.rotate_key('default') AS new_key_id;
SELECT name, version, status FROM zerocut.encryption_keys ORDER BY id;
SELECT get_byte(phone_encrypted, 8) AS key_id_in_header, count(*) FROM user_management."USER"
WHERE phone_encrypted IS NOT NULL GROUP BY 1;
UPDATE user_management."USER" SET phone_encrypted = zerocut.reencrypt(phone_encrypted, 'user_management.USER.phone')
WHERE phone_encrypted IS NOT NULL
  AND get_byte(phone_encrypted, 8) <> (SELECT id FROM zerocut.encryption_keys WHERE name = 'default' AND status = 'active');
SELECT get_byte(phone_encrypted, 8) AS key_id_in_header, count(*) FROM user_management."USER"
WHERE phone_encrypted IS NOT NULL GROUP BY 1;
SELECT id, zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS still_decrypts
FROM user_management."USER" WHERE phone_bidx = zerocut.blind_index('+86 139 0000 4242');
SELECT level, message FROM audit_log.system_log WHERE message LIKE 'crypto:%' ORDER BY id;

\echo
\echo '== keys per role: EXECUTE on decrypt() lets a role call it, zerocut.grant_key() says with which keys'
CREATE ROLE demo_support;
GRANT USAGE ON SCHEMA zerocut, user_management TO demo_support;
GRANT SELECT ON user_management."USER" TO demo_support;
GRANT EXECUTE ON FUNCTION zerocut.decrypt(bytea, text) TO demo_support;
SET ROLE demo_support;
DO $$
DECLARE state text; msg text;
BEGIN
    PERFORM zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') FROM user_management."USER" WHERE id = 7;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RAISE NOTICE 'without a grant: % %', state, msg;
END $$;
RESET ROLE;
SELECT zerocut.grant_key('default', 'demo_support', encrypt => false);
SET ROLE demo_support;
SELECT id, zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') AS phone_for_support
FROM user_management."USER" WHERE id = 7;
RESET ROLE;
SELECT key_name, grantee, can_encrypt, can_decrypt FROM zerocut.key_grant ORDER BY 1, 2;
