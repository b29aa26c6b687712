-- Keys per role (issue 17): EXECUTE on encrypt()/decrypt() says which
-- functions a role may call, zerocut.grant_key() with which keys.
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
-- The grants as a sorted list.
CREATE FUNCTION pg_temp.grants() RETURNS TABLE (key_name text, grantee text, can_encrypt boolean, can_decrypt boolean)
LANGUAGE sql AS $$
    SELECT key_name, grantee::text, can_encrypt, can_decrypt FROM zerocut.key_grant ORDER BY 1, 2
$$;
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_grants.key && umask 077 && cat > zc_regress_grants.key';
SET zerocut.key_file = 'zc_regress_grants.key';
SELECT zerocut.create_key('default') > 0 AS default_created, zerocut.create_key('billing') > 0 AS billing_created;

-- Ciphertexts made by a superuser, readable by every test role.
CREATE TABLE kg_ct (name text PRIMARY KEY, c bytea);
INSERT INTO kg_ct VALUES ('default', zerocut.encrypt('d secret', 'default', 'kg')),
                         ('billing', zerocut.encrypt('b secret', 'billing', 'kg')),
                         ('billing bytes', zerocut.encrypt('\x00ff'::bytea, 'billing', 'kg'));

-- Roles with EXECUTE on every keyring function, but no key yet.
CREATE ROLE zc_kg_app;
CREATE ROLE zc_kg_group;
CREATE ROLE zc_kg_member IN ROLE zc_kg_group;           -- inherits zc_kg_group's privileges
CREATE ROLE zc_kg_noinherit NOINHERIT IN ROLE zc_kg_group;  -- member, but must SET ROLE to use them
-- (each directly: the members' keys, not their EXECUTE, are what comes from the group)
GRANT USAGE ON SCHEMA zerocut TO zc_kg_app, zc_kg_group, zc_kg_member, zc_kg_noinherit;
GRANT EXECUTE ON FUNCTION zerocut.encrypt(text, text, text), zerocut.encrypt(bytea, text, text),
    zerocut.decrypt(bytea, text), zerocut.decrypt_bytea(bytea, text), zerocut.blind_index(text, text),
    zerocut.reencrypt(bytea, text) TO zc_kg_app, zc_kg_group, zc_kg_member, zc_kg_noinherit;
GRANT SELECT ON kg_ct TO zc_kg_app, zc_kg_group, zc_kg_member, zc_kg_noinherit;

-- 1. EXECUTE alone uses no key: each function is refused, naming the key and
-- grant_key() (and never showing data).
SET ROLE zc_kg_app;
SELECT pg_temp.try($$SELECT zerocut.encrypt('x', 'billing')$$);
SELECT pg_temp.try($$SELECT zerocut.encrypt('\x01'::bytea, 'billing')$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt_bytea(c, 'kg') FROM kg_ct WHERE name = 'billing bytes'$$);
SELECT pg_temp.try($$SELECT zerocut.blind_index('x', 'billing')$$);
SELECT pg_temp.try($$SELECT zerocut.reencrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
-- A key that does not exist is reported as such; a damaged envelope too.
SELECT pg_temp.try($$SELECT zerocut.encrypt('x', 'nope')$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt('\x00'::bytea)$$);
-- The grants are not readable, nor can the role grant itself a key.
SELECT pg_temp.try($$SELECT count(*) FROM zerocut.key_grant$$);
SELECT pg_temp.try($$SELECT zerocut.grant_key('billing', 'zc_kg_app')$$);
RESET ROLE;
-- Even with EXECUTE on grant_key()/revoke_key(): only a superuser or the
-- extension's owner may grant keys.
GRANT EXECUTE ON FUNCTION zerocut.grant_key(text, name, boolean, boolean),
    zerocut.revoke_key(text, name, boolean, boolean) TO zc_kg_app;
SET ROLE zc_kg_app;
SELECT pg_temp.try($$SELECT zerocut.grant_key('billing', 'zc_kg_app')$$);
SELECT pg_temp.try($$SELECT zerocut.revoke_key('billing', 'zc_kg_app')$$);
RESET ROLE;
REVOKE ALL ON FUNCTION zerocut.grant_key(text, name, boolean, boolean),
    zerocut.revoke_key(text, name, boolean, boolean) FROM zc_kg_app;
SELECT * FROM pg_temp.grants();

-- 2. The encrypt right only: encrypt and blind_index, not decrypt (nor
-- reencrypt, which decrypts).  Per key: 'default' stays refused.
SELECT zerocut.grant_key('billing', 'zc_kg_app', decrypt => false);
SELECT * FROM pg_temp.grants();
SET ROLE zc_kg_app;
SELECT length(zerocut.encrypt('x', 'billing')) AS encrypted_bytes,
       zerocut.blind_index('x', 'billing') = (SELECT zerocut.blind_index('x', 'billing')) AS blind_index_ok;
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
SELECT pg_temp.try($$SELECT zerocut.reencrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
SELECT pg_temp.try($$SELECT zerocut.encrypt('x', 'default')$$);
RESET ROLE;
-- Then decrypt as well (granting adds to what the role holds).
SELECT zerocut.grant_key('billing', 'zc_kg_app', encrypt => false);
SET ROLE zc_kg_app;
SELECT zerocut.decrypt(c, 'kg') AS decrypted FROM kg_ct WHERE name = 'billing';
SELECT zerocut.decrypt_bytea(c, 'kg') AS decrypted_bytes FROM kg_ct WHERE name = 'billing bytes';
SELECT zerocut.decrypt(zerocut.reencrypt(c, 'kg'), 'kg') AS reencrypted FROM kg_ct WHERE name = 'billing';
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'kg') FROM kg_ct WHERE name = 'default'$$);
RESET ROLE;
-- Idempotent: granting again changes nothing.
SELECT zerocut.grant_key('billing', 'zc_kg_app');
SELECT * FROM pg_temp.grants();

-- 3. Revoking takes effect at the next statement of the same session, even
-- after the role's grant was cached; revoking one right keeps the other; a
-- revoke rolled back is undone.
SELECT zerocut.revoke_key('billing', 'zc_kg_app', decrypt => false);
SELECT * FROM pg_temp.grants();
SET ROLE zc_kg_app;
SELECT pg_temp.try($$SELECT zerocut.encrypt('x', 'billing')$$);
SELECT zerocut.decrypt(c, 'kg') AS still_decrypts FROM kg_ct WHERE name = 'billing';
RESET ROLE;
BEGIN;
SELECT zerocut.revoke_key('billing', 'zc_kg_app');
SET LOCAL ROLE zc_kg_app;
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
ROLLBACK;
SET ROLE zc_kg_app;
SELECT zerocut.decrypt(c, 'kg') AS decrypts_after_rollback FROM kg_ct WHERE name = 'billing';
RESET ROLE;
-- A grant left with neither right is deleted; revoking again is a no-op.
SELECT zerocut.revoke_key('billing', 'zc_kg_app', encrypt => false);
SELECT zerocut.revoke_key('billing', 'zc_kg_app');
SELECT * FROM pg_temp.grants();
SET ROLE zc_kg_app;
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
RESET ROLE;

-- 4. Through a group role: members who inherit its privileges use its keys
-- (has_privs_of_role); a NOINHERIT member only after SET ROLE to the group.
SELECT zerocut.grant_key('billing', 'zc_kg_group');
SET ROLE zc_kg_member;
SELECT zerocut.decrypt(zerocut.encrypt('via group', 'billing', 'g'), 'g') AS member_round_trip;
RESET ROLE;
SET ROLE zc_kg_noinherit;
SELECT pg_temp.try($$SELECT zerocut.encrypt('x', 'billing')$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt(c, 'kg') FROM kg_ct WHERE name = 'billing'$$);
SET ROLE zc_kg_group;
SELECT zerocut.decrypt(c, 'kg') AS after_set_role FROM kg_ct WHERE name = 'billing';
RESET ROLE;
-- Membership revoked: refused at the next statement.
REVOKE zc_kg_group FROM zc_kg_member;
SET ROLE zc_kg_member;
SELECT pg_temp.try($$SELECT zerocut.encrypt('x', 'billing')$$);
RESET ROLE;
GRANT zc_kg_group TO zc_kg_member;

-- 5. Grants are by key name: they outlive rotation (new version encrypts,
-- old ciphertexts decrypt, reencrypt moves them).
SELECT zerocut.rotate_key('billing') > 0 AS rotated;
SET ROLE zc_kg_member;
SELECT zerocut.decrypt(c, 'kg') AS old_version_decrypts,
       get_byte(zerocut.encrypt('n', 'billing'), 8) > get_byte(c, 8) AS new_version_encrypts,
       zerocut.decrypt(zerocut.reencrypt(c, 'kg'), 'kg') AS reencrypted
FROM kg_ct WHERE name = 'billing';
RESET ROLE;

-- 6. Bad arguments: each named, nothing changed.
SELECT pg_temp.try($$SELECT zerocut.grant_key(NULL, 'zc_kg_app')$$);
SELECT pg_temp.try($$SELECT zerocut.grant_key('billing', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.grant_key('billing', 'zc_kg_app', NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.revoke_key('billing', 'zc_kg_app', true, NULL)$$);
SELECT pg_temp.try($$SELECT zerocut.grant_key('nope', 'zc_kg_app')$$);
SELECT pg_temp.try($$SELECT zerocut.revoke_key('x"; DROP TABLE y; --', 'zc_kg_app')$$);
SELECT pg_temp.try($$SELECT zerocut.grant_key('billing', 'zc_kg_nobody')$$);
SELECT pg_temp.try($$SELECT zerocut.grant_key('billing', 'public')$$);
SELECT pg_temp.try($$SELECT zerocut.revoke_key('billing', 'x"; DROP TABLE y; --')$$);
-- A superuser needs no grant: allowed, with a NOTICE.
CREATE ROLE zc_kg_super SUPERUSER;
SELECT zerocut.grant_key('billing', 'zc_kg_super', decrypt => false);
SELECT zerocut.revoke_key('billing', 'zc_kg_super');
SELECT * FROM pg_temp.grants();

-- 7. A dropped role leaves its row (a regrole is no dependency); the next
-- grant_key()/revoke_key() removes it, and a role made again under the same
-- name does not inherit it.
CREATE ROLE zc_kg_gone;
SELECT zerocut.grant_key('billing', 'zc_kg_gone');
DROP ROLE zc_kg_gone;
SELECT count(*) AS rows_of_dropped_role FROM zerocut.key_grant WHERE grantee::text !~ '^zc_';
CREATE ROLE zc_kg_gone;
SELECT count(*) AS rows_of_new_role FROM zerocut.key_grant WHERE grantee::text = 'zc_kg_gone';
SELECT zerocut.revoke_key('default', 'zc_kg_gone');
SELECT * FROM pg_temp.grants();
DROP ROLE zc_kg_gone;

-- 8. A protected column: its owner needs the encrypt right to protect it;
-- writers need none (the trigger encrypts for them, authorised when the
-- owner protected the column), but decrypting needs a decrypt grant.  A
-- read-only role sees ciphertext and blind indexes only.
CREATE ROLE zc_kg_owner;
CREATE ROLE zc_kg_writer;
CREATE ROLE zc_kg_reader;
GRANT USAGE ON SCHEMA zerocut TO zc_kg_owner, zc_kg_writer, zc_kg_reader;
GRANT EXECUTE ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean),
    zerocut.encrypt(text, text, text), zerocut.blind_index(text, text) TO zc_kg_owner;
GRANT EXECUTE ON FUNCTION zerocut.decrypt(bytea, text) TO zc_kg_writer, zc_kg_reader;
CREATE SCHEMA kg AUTHORIZATION zc_kg_owner;
GRANT USAGE ON SCHEMA kg TO zc_kg_writer, zc_kg_reader;
SET ROLE zc_kg_owner;
CREATE TABLE kg.docs (id int PRIMARY KEY, phone text);
GRANT SELECT, INSERT, UPDATE ON kg.docs TO zc_kg_writer;
GRANT SELECT ON kg.docs TO zc_kg_reader;
SELECT pg_temp.try($$SELECT zerocut.protect_column('kg.docs', 'phone', 'billing') ->> 'trigger'$$);
RESET ROLE;
SELECT zerocut.grant_key('billing', 'zc_kg_owner', decrypt => false);
SET ROLE zc_kg_owner;
SELECT zerocut.protect_column('kg.docs', 'phone', 'billing') ->> 'trigger' AS protected;
RESET ROLE;
-- The owner's grant is not needed by the trigger: revoked, writes still encrypt.
SELECT zerocut.revoke_key('billing', 'zc_kg_owner');
SET ROLE zc_kg_writer;
INSERT INTO kg.docs (id, phone) VALUES (1, '+86 138 0000 0001');
UPDATE kg.docs SET phone = '+86 138 0000 0002' WHERE id = 1;
SELECT id, phone IS NULL AS blanked, phone_encrypted IS NOT NULL AS encrypted, phone_bidx IS NOT NULL AS indexed
FROM kg.docs;
SELECT pg_temp.try($$SELECT zerocut.decrypt(phone_encrypted, 'kg.docs.phone') FROM kg.docs$$);
RESET ROLE;
SELECT zerocut.grant_key('billing', 'zc_kg_writer', encrypt => false);
SET ROLE zc_kg_writer;
SELECT zerocut.decrypt(phone_encrypted, 'kg.docs.phone') AS writer_decrypts FROM kg.docs;
-- A decrypt grant does not make blind indexes.
SELECT pg_temp.try($$SELECT zerocut.blind_index('+86 138 0000 0002', 'billing')$$);
RESET ROLE;
SET ROLE zc_kg_reader;
SELECT id, phone, length(phone_encrypted) > 37 AS ciphertext, length(phone_bidx) AS bidx_bytes FROM kg.docs;
SELECT pg_temp.try($$SELECT zerocut.decrypt(phone_encrypted, 'kg.docs.phone') FROM kg.docs$$);
SELECT pg_temp.try($$INSERT INTO kg.docs (id, phone) VALUES (2, 'x')$$);
RESET ROLE;

-- Grants are logged.
SELECT message, metadata ->> 'key' AS key, metadata ->> 'role' AS role, metadata ->> 'encrypt' AS encrypt,
       metadata ->> 'decrypt' AS decrypt
FROM audit_log.system_log WHERE message IN ('crypto: granted key', 'crypto: revoked key') ORDER BY id;

-- Leave the database as it was.
DROP SCHEMA kg CASCADE;
DROP TABLE kg_ct;
DELETE FROM zerocut.key_grant;
REVOKE ALL ON FUNCTION zerocut.protect_column_trigger() FROM zc_kg_owner;
REVOKE ALL ON FUNCTION zerocut.encrypt(text, text, text), zerocut.encrypt(bytea, text, text),
    zerocut.decrypt(bytea, text), zerocut.decrypt_bytea(bytea, text), zerocut.blind_index(text, text),
    zerocut.reencrypt(bytea, text), zerocut.protect_column(regclass, name, text, boolean, boolean)
    FROM zc_kg_app, zc_kg_group, zc_kg_member, zc_kg_noinherit, zc_kg_owner, zc_kg_writer, zc_kg_reader;
REVOKE USAGE ON SCHEMA zerocut
    FROM zc_kg_app, zc_kg_group, zc_kg_member, zc_kg_noinherit, zc_kg_owner, zc_kg_writer, zc_kg_reader;
DROP ROLE zc_kg_app, zc_kg_member, zc_kg_noinherit, zc_kg_group, zc_kg_super, zc_kg_owner, zc_kg_writer,
    zc_kg_reader;
RESET zerocut.key_file;
DELETE FROM zerocut.encryption_keys;
ALTER SEQUENCE zerocut.encryption_keys_id_seq RESTART;
DELETE FROM audit_log.system_log WHERE message LIKE 'crypto:%';
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_grants.key';
