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
