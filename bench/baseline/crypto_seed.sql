-- The seed's encryption wrappers ("数据加密"), as written there (PL/pgSQL over
-- pgcrypto, key passed by the caller), for bench/crypto/run.sh.
CREATE OR REPLACE FUNCTION bench_seed_encrypt_sensitive_data(data TEXT, key TEXT)
RETURNS BYTEA AS $$
BEGIN
    RETURN pgp_sym_encrypt(data, key);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION bench_seed_decrypt_sensitive_data(encrypted_data BYTEA, key TEXT)
RETURNS TEXT AS $$
BEGIN
    RETURN pgp_sym_decrypt(encrypted_data, key);
END;
$$ LANGUAGE plpgsql;
