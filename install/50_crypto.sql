-- This part: encryption (docs/crypto.md).  Seed-compatible pgcrypto wrappers,
-- and a keyring: data keys wrapped by a server-held root key (GUC
-- zerocut.key_file), AES-256-GCM envelopes, rotation, blind indexes and
-- column protection.

CREATE SEQUENCE zerocut.encryption_keys_id_seq AS integer;
CREATE TABLE zerocut.encryption_keys (
    id          integer PRIMARY KEY DEFAULT nextval('zerocut.encryption_keys_id_seq'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
    version     integer NOT NULL CHECK (version > 0),
    status      text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    wrapped_key bytea NOT NULL CHECK (length(wrapped_key) = 60),
    UNIQUE (name, version)
);
ALTER SEQUENCE zerocut.encryption_keys_id_seq OWNED BY zerocut.encryption_keys.id;
CREATE UNIQUE INDEX encryption_keys_one_active ON zerocut.encryption_keys (name) WHERE status = 'active';
COMMENT ON TABLE zerocut.encryption_keys IS
    'Data keys of the keyring: each version of a named key, AES-256-GCM-wrapped by the root key in zerocut.key_file (useless without it); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.encryption_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE zerocut.encryption_keys_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.encryption_keys', '');

CREATE FUNCTION zerocut.keyring_invalidate() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_keyring_invalidate';
COMMENT ON FUNCTION zerocut.keyring_invalidate() IS
    'Statement trigger on zerocut.encryption_keys: any change (rotation, manual DELETE, restore) invalidates every backend''s key cache';
CREATE TRIGGER keyring_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.encryption_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.keyring_invalidate();
SELECT pg_catalog.pg_extension_config_dump('zerocut.encryption_keys_id_seq', '');

CREATE FUNCTION zerocut.create_key(name text) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_create_key';
COMMENT ON FUNCTION zerocut.create_key(text) IS
    'Creates a named data key (random 256 bits, wrapped by the root key in zerocut.key_file) as version 1; returns its id';
REVOKE ALL ON FUNCTION zerocut.create_key(text) FROM PUBLIC;

CREATE FUNCTION zerocut.rotate_key(name text) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_rotate_key';
COMMENT ON FUNCTION zerocut.rotate_key(text) IS
    'Makes a new version of a named data key active; older versions stay (retired) and still decrypt; returns the new id';
REVOKE ALL ON FUNCTION zerocut.rotate_key(text) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt(data text, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_encrypt';
COMMENT ON FUNCTION zerocut.encrypt(text, text, text) IS
    'AES-256-GCM envelope of text under the active version of key_name, random nonce, context bound as associated data; NULL data gives NULL';
REVOKE ALL ON FUNCTION zerocut.encrypt(text, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt(data bytea, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_encrypt_bytea';
COMMENT ON FUNCTION zerocut.encrypt(bytea, text, text) IS
    'AES-256-GCM envelope of bytea under the active version of key_name, random nonce, context bound as associated data; NULL data gives NULL';
REVOKE ALL ON FUNCTION zerocut.encrypt(bytea, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.decrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS text
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_decrypt';
COMMENT ON FUNCTION zerocut.decrypt(bytea, text) IS
    'Decrypts a zerocut.encrypt() text envelope (key found from its header); tampering, truncation, wrong context or unknown key is an ERROR';
REVOKE ALL ON FUNCTION zerocut.decrypt(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.decrypt_bytea(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_decrypt_bytea';
COMMENT ON FUNCTION zerocut.decrypt_bytea(bytea, text) IS
    'Decrypts a zerocut.encrypt() envelope to bytea (key found from its header); tampering, truncation, wrong context or unknown key is an ERROR';
REVOKE ALL ON FUNCTION zerocut.decrypt_bytea(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.reencrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_reencrypt';
COMMENT ON FUNCTION zerocut.reencrypt(bytea, text) IS
    'Re-encrypts an envelope under the active version of its key (same context); unchanged when already active';
REVOKE ALL ON FUNCTION zerocut.reencrypt(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.blind_index(data text, key_name text DEFAULT 'default') RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_blind_index';
COMMENT ON FUNCTION zerocut.blind_index(text, text) IS
    'HMAC-SHA256 of data under a blind-index key derived from the first version of key_name (stable across rotation), for equality search on encrypted columns';
REVOKE ALL ON FUNCTION zerocut.blind_index(text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.blind_index(data bytea, key_name text DEFAULT 'default') RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_blind_index';
COMMENT ON FUNCTION zerocut.blind_index(bytea, text) IS
    'HMAC-SHA256 of bytes under the blind-index key of key_name (what protect_column writes for a bytea column); equal to the text version for the same bytes';
REVOKE ALL ON FUNCTION zerocut.blind_index(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.protect_column_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_protect_column_trigger';
COMMENT ON FUNCTION zerocut.protect_column_trigger() IS
    'BEFORE INSERT OR UPDATE row trigger made by protect_column(): encrypts <col> into <col>_encrypted (never twice), writes <col>_bidx, blanks <col> unless keep_plaintext';

CREATE FUNCTION zerocut.protect_column(tbl regclass, col name, key_name text DEFAULT 'default',
                                       blind_index boolean DEFAULT true, keep_plaintext boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_protect_column';
COMMENT ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) IS
    'Adds <col>_encrypted (reusing an empty or zerocut-encrypted bytea column), <col>_bidx with an index, and the encrypting trigger; existing rows: CALL encrypt_column_backfill()';
REVOKE ALL ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt_column_batch(tbl regclass, col name, start_block bigint, end_block bigint,
                                             batch_size integer, OUT next_block bigint, OUT end_block bigint,
                                             OUT rows_encrypted bigint)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_encrypt_column_batch';
COMMENT ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) IS
    'One batch of encrypt_column_backfill(): encrypts the pending rows of a block range of a protected column; next_block NULL when done';
REVOKE ALL ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) FROM PUBLIC;

-- PL/pgSQL only for the loop: a procedure may COMMIT between batches only
-- when it has no SET clause, so every name in it is schema-qualified.
CREATE PROCEDURE zerocut.encrypt_column_backfill(tbl regclass, col name, batch_size integer DEFAULT 5000)
    LANGUAGE plpgsql
    AS $$
DECLARE
    next_block bigint := 0;
    last_block bigint;
    total bigint := 0;
    step record;
BEGIN
    LOOP
        SELECT * INTO step FROM zerocut.encrypt_column_batch(tbl, col, next_block, last_block, batch_size);
        total := total OPERATOR(pg_catalog.+) step.rows_encrypted;
        last_block := step.end_block;
        COMMIT;
        EXIT WHEN step.next_block IS NULL;
        next_block := step.next_block;
    END LOOP;
    RAISE NOTICE 'zerocut: encrypted % rows of %.%', total, tbl, pg_catalog.quote_ident(col);
END
$$;
COMMENT ON PROCEDURE zerocut.encrypt_column_backfill(regclass, name, integer) IS
    'Encrypts the existing rows of a protected column in committed batches of about batch_size rows (resumable; CALL it outside a transaction block)';
REVOKE ALL ON PROCEDURE zerocut.encrypt_column_backfill(regclass, name, integer) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt_sensitive_data(data text, key text) RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'zc_encrypt_sensitive_data';
COMMENT ON FUNCTION zerocut.encrypt_sensitive_data(text, text) IS
    'Seed-compatible: pgcrypto pgp_sym_encrypt(data, key) (needs CREATE EXTENSION pgcrypto); the key travels in SQL, prefer zerocut.encrypt()';

CREATE FUNCTION zerocut.decrypt_sensitive_data(encrypted_data bytea, key text) RETURNS text
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'zc_decrypt_sensitive_data';
COMMENT ON FUNCTION zerocut.decrypt_sensitive_data(bytea, text) IS
    'Seed-compatible: pgcrypto pgp_sym_decrypt(encrypted_data, key) (needs CREATE EXTENSION pgcrypto); wrong key is an ERROR showing neither key nor data';
