-- Seed-compatible wrappers over pgcrypto: interoperable both ways, STRICT,
-- a HINT when pgcrypto is missing, a wrong key shows neither key nor data.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text; state text; msg text; detail text; hint text;
BEGIN
    EXECUTE sql INTO result;
    RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RETURN format('%s | %s%s%s', state, msg, CASE WHEN detail <> '' THEN ' | DETAIL: ' || detail ELSE '' END,
                  CASE WHEN hint <> '' THEN ' | HINT: ' || hint ELSE '' END);
END
$$;
SELECT count(*) AS pgcrypto_installed FROM pg_extension WHERE extname = 'pgcrypto';
SELECT pg_temp.try($$SELECT zerocut.encrypt_sensitive_data('+86 138', 'k')$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt_sensitive_data('\x00', 'k')$$);

-- pgcrypto in its own schema, not on the search_path: still found.
CREATE SCHEMA crypto_ext;
CREATE EXTENSION pgcrypto SCHEMA crypto_ext;
SELECT zerocut.decrypt_sensitive_data(zerocut.encrypt_sensitive_data('+86 138 0013 8000', 'seed-key'), 'seed-key') AS own_round_trip,
       crypto_ext.pgp_sym_decrypt(zerocut.encrypt_sensitive_data('手机', 'seed-key'), 'seed-key') AS pgcrypto_reads_ours,
       zerocut.decrypt_sensitive_data(crypto_ext.pgp_sym_encrypt('手机', 'seed-key'), 'seed-key') AS ours_reads_pgcrypto,
       zerocut.decrypt_sensitive_data(zerocut.encrypt_sensitive_data('', 'k'), 'k') = '' AS empty_ok,
       zerocut.decrypt_sensitive_data(zerocut.encrypt_sensitive_data('v', 'x"; DROP TABLE y; --'), 'x"; DROP TABLE y; --') AS hostile_key_ok;
SELECT get_byte(zerocut.encrypt_sensitive_data('x', 'k'), 0) = 195 AS openpgp_packet;
-- STRICT: NULL in, NULL out.
SELECT zerocut.encrypt_sensitive_data(NULL, 'k') IS NULL AS null_data, zerocut.encrypt_sensitive_data('x', NULL) IS NULL AS null_key,
       zerocut.decrypt_sensitive_data(NULL, 'k') IS NULL AS null_cipher;
-- Wrong key, damaged data: a clear error without key or data.
SELECT pg_temp.try($$SELECT zerocut.decrypt_sensitive_data(zerocut.encrypt_sensitive_data('+86 138 0013 8000', 'right-key'), 'wrong-key')$$);
SELECT pg_temp.try($$SELECT zerocut.decrypt_sensitive_data('\xc30d0407deadbeef', 'k')$$);
-- A zerocut envelope is not an OpenPGP message.
SELECT pg_temp.try($$SELECT zerocut.decrypt_sensitive_data('\x5a43450174'::bytea || decode(repeat('00', 32), 'hex'), 'k')$$);
-- A caller's search_path cannot redirect the call to a look-alike.
CREATE FUNCTION public.pgp_sym_encrypt(text, text) RETURNS bytea LANGUAGE sql AS $$ SELECT '\x00'::bytea $$;
SET search_path = public, crypto_ext;
SELECT length(zerocut.encrypt_sensitive_data('x', 'k')) > 1 AS real_pgcrypto_used;
RESET search_path;
DROP FUNCTION public.pgp_sym_encrypt(text, text);

DROP EXTENSION pgcrypto;
DROP SCHEMA crypto_ext;
