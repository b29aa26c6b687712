#!/usr/bin/env bash
# crypto: the root key and protected plaintext never reach the server log,
# pg_stat_statements, pg_dump output or the data directory (heap, WAL,
# stats files); the key file is refused when it is group/other-accessible,
# owned by another user, or not 64 hex digits.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT

zc_cluster_start "shared_preload_libraries = 'pg_stat_statements'" "pg_stat_statements.track = all" \
    "log_min_error_statement = error" "log_error_verbosity = verbose" "lc_messages = 'C'"
fail() { echo "FAIL: $*" >&2; exit 1; }
as_owner() { zc_as_owner bash -c "$1"; }

KEY=$ZC_DIR/root.key   # outside the data directory, owned by the server's user
ROOT_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
[ ${#ROOT_KEY} -eq 64 ] || fail "could not make a root key"
as_owner "umask 077; printf '%s\n' '$ROOT_KEY' > '$KEY'"
zc_psql -q -c "CREATE EXTENSION zerocut" -c "CREATE EXTENSION pgcrypto" -c "CREATE EXTENSION pg_stat_statements" \
    -c "ALTER SYSTEM SET zerocut.key_file = '$KEY'" -c "SELECT pg_reload_conf()" >/dev/null

# ---- key file rules (each case in a fresh session) --------------------------
expect_error() {  # expect_error SQLSTATE pattern
    local out
    out=$(zc_psql -v VERBOSITY=verbose -c "SELECT zerocut.create_key('probe')" 2>&1 || true)
    grep -qF -- "ERROR:  $1" <<<"$out" || fail "expected SQLSTATE $1, got: $out"
    grep -qF -- "$2" <<<"$out" || fail "expected '$2' in: $out"
    grep -qF -- "HINT:  As the database server's operating-system user" <<<"$out" || fail "expected the HINT in: $out"
    grep -qiF -- "$ROOT_KEY" <<<"$out" && fail "root key in an error message"
    echo "  refused with $1: $2"
}
as_owner "chmod 644 '$KEY'"
expect_error F0000 "must not be accessible by group or others (mode 0644"
as_owner "chmod 600 '$KEY'"
if [ "$(id -u)" = 0 ]; then
    chown root "$KEY"; chmod 644 "$KEY"   # readable, so the owner rule is what refuses it
    expect_error F0000 "must be owned by the database server's operating system user"
    chown postgres "$KEY"; chmod 600 "$KEY"
else
    echo "  (not root: the wrong-owner case needs chown, skipped)"
fi
as_owner "cp '$KEY' '$KEY.bak'; umask 077; printf '%s' '${ROOT_KEY:0:63}' > '$KEY'"
expect_error F0000 "must hold exactly 64 hexadecimal digits"
as_owner "rm -f '$KEY'"
expect_error 58P01 "does not exist"
as_owner "mv '$KEY.bak' '$KEY'"
[ "$(zc_psql -At -c "SELECT count(*) FROM zerocut.encryption_keys")" = 0 ] || fail "a failed call changed the keyring"

# ---- a protected table in use, with errors provoked -------------------------
P1=ZCPLAIN-7F3A9-ALPHA P2=ZCPLAIN-7F3A9-BRAVO P3=ZCPLAIN-7F3A9-CHARLIE
zc_psql -q <<SQL >/dev/null
SELECT zerocut.create_key('default');
CREATE TABLE customer (id int PRIMARY KEY, phone text);
SELECT zerocut.protect_column('customer', 'phone');
INSERT INTO customer VALUES (1, '$P1'), (2, '$P2');
UPDATE customer SET phone = '$P3' WHERE id = 2;
SELECT zerocut.rotate_key('default');
UPDATE customer SET phone_encrypted = zerocut.reencrypt(phone_encrypted, 'public.customer.phone');
SQL
[ "$(zc_psql -At -c "SELECT string_agg(zerocut.decrypt(phone_encrypted, 'public.customer.phone'), ',' ORDER BY id) FROM customer")" = "$P1,$P3" ] || fail "protected values do not decrypt"
# Errors whose statements carry no plaintext: wrong context, tampering,
# missing key file, unknown key, trigger refusing garbage.
for sql in "SELECT zerocut.decrypt(phone_encrypted, 'wrong') FROM customer" \
           "SELECT zerocut.decrypt(set_byte(phone_encrypted, 30, 0), 'public.customer.phone') FROM customer" \
           "SELECT zerocut.decrypt(substr(phone_encrypted, 1, 40), 'public.customer.phone') FROM customer" \
           "UPDATE customer SET phone_encrypted = substr(phone_encrypted, 2)" \
           "SELECT zerocut.decrypt_bytea(phone_encrypted) FROM customer" \
           "SELECT zerocut.decrypt_sensitive_data(phone_encrypted, current_user) FROM customer"; do
    zc_psql -q -c "$sql" >/dev/null 2>&1 && fail "expected an error from: $sql"
done
as_owner "chmod 640 '$KEY'"
zc_psql -q -c "SELECT zerocut.decrypt(phone_encrypted, 'public.customer.phone') FROM customer" >/dev/null 2>&1 \
    && fail "a group-readable key file was accepted"
as_owner "chmod 600 '$KEY'"
# Controls: an unprotected value and a comment must be found by the same greps.
CONTROL=ZCCONTROL-7F3A9-UNPROTECTED
# A value that straddles a WAL page boundary is cut by the page header (the
# control was, once the install script grew by a few bytes), so the WAL is
# searched with its page headers taken out (wal_has below), for the control
# and the secrets alike.
zc_psql -q -c "CREATE TABLE control_plain (v text)" -c "INSERT INTO control_plain VALUES ('$CONTROL')" \
    -c "/* $CONTROL */ SELECT 1" -c "CHECKPOINT" >/dev/null
zc_as_owner grep -rqaF -- "$CONTROL" "$ZC_DATA/base" || fail "control: the heap grep does not work"
# wal_has NEEDLE: whether the WAL segments, read as one stream with every
# page header removed (XLOG_BLCKSZ 8192; 40 bytes where xlp_info has
# XLP_LONG_HEADER, the first page of a segment, else 24), contain NEEDLE.
wal_has() {
    zc_as_owner perl -e '
        my ($dir, $needle) = @ARGV; my $stream = ""; local $/ = \8192;
        for my $file (sort grep { m{/[0-9A-F]{24}$} } glob("$dir/*")) {
            open my $fh, "<:raw", $file or die "$file: $!";
            while (my $page = <$fh>) { $stream .= substr($page, (unpack("v", substr($page, 2, 2)) & 2) ? 40 : 24) }
        }
        exit(index($stream, $needle) >= 0 ? 0 : 1)' "$ZC_DATA/pg_wal" "$1"
}
wal_has "$CONTROL" || fail "control: the WAL search does not work"
[ "$(zc_psql -At -c "SELECT count(*) FROM pg_stat_statements WHERE strpos(query, '$CONTROL') > 0")" != 0 ] \
    || fail "control: the pg_stat_statements check does not work"
# A key grant (issue 17) is configuration too, its role written by name.
zc_psql -q -c "CREATE ROLE zc_leak_reader" -c "SELECT zerocut.grant_key('default', 'zc_leak_reader', encrypt => false)" >/dev/null
DUMP=$ZC_DIR/dump.sql
zc_as_owner "$ZC_BINDIR/pg_dump" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres postgres >"$DUMP"
grep -q "zerocut.encryption_keys" "$DUMP" || fail "pg_dump did not keep the keyring"

# Restore into a new database: keys come back (wrapped), nothing is encrypted
# twice, the trigger works again.
zc_psql -q -c "CREATE DATABASE restored" >/dev/null
zc_psql -q -d restored -f "$DUMP" >/dev/null 2>"$ZC_DIR/restore.err" || { cat "$ZC_DIR/restore.err"; fail "restore failed"; }
[ "$(zc_psql -At -d restored -c "SELECT string_agg(zerocut.decrypt(phone_encrypted, 'public.customer.phone'), ',' ORDER BY id) FROM customer")" = "$P1,$P3" ] || fail "restored values do not decrypt"
zc_psql -q -d restored -c "INSERT INTO customer VALUES (9, '$P2')" >/dev/null
[ "$(zc_psql -At -d restored -c "SELECT phone IS NULL AND zerocut.decrypt(phone_encrypted, 'public.customer.phone') = '$P2' FROM customer WHERE id = 9")" = t ] || fail "the trigger does not encrypt after restore"
[ "$(zc_psql -At -d restored -c "SELECT string_agg(format('%s %s %s %s', key_name, grantee, can_encrypt, can_decrypt), ',') FROM zerocut.key_grant")" = "default zc_leak_reader f t" ] \
    || fail "the key grant was not restored by role name"
echo "  pg_dump/restore keeps the wrapped keys and key grants; restored rows decrypt and are not encrypted twice"

# ---- the greps ---------------------------------------------------------------
check_absent() {  # check_absent needle where...
    local needle=$1; shift
    if zc_as_owner grep -rlaF -- "$needle" "$@" 2>/dev/null; then fail "'$needle' found in the files above"; fi
}
for secret in "$ROOT_KEY" "$P1" "$P2" "$P3"; do
    check_absent "$secret" "$ZC_DIR/server.log" "$DUMP" "$ZC_DATA/base" "$ZC_DATA/global" \
        "$ZC_DATA/pg_stat_tmp" "$ZC_DATA/pg_stat"
    if wal_has "$secret"; then fail "'$secret' found in the WAL"; fi
done
echo "  root key and plaintext absent from server log, pg_dump, heap, WAL and statistics files"
# pg_stat_statements (query texts as the view shows them, after more statements).
zc_psql -q -c "SELECT zerocut.decrypt(phone_encrypted, 'public.customer.phone') FROM customer" >/dev/null
zc_psql -q -c "INSERT INTO customer VALUES (3, '$P1-again')" >/dev/null
for secret in "$ROOT_KEY" "$P1"; do
    [ "$(zc_psql -At -c "SELECT count(*) FROM pg_stat_statements WHERE strpos(query, '$secret') > 0")" = 0 ] \
        || fail "'$secret' in pg_stat_statements"
done
[ "$(zc_psql -At -c "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%encryption_keys%'")" != 0 ] \
    || fail "the keyring's own statements should be tracked (track = all) with parameters"
# The errors did reach the log (so the greps above looked at real errors).
grep -q "failed authentication" "$ZC_DIR/server.log" || fail "expected authentication errors in the log"
grep -q "wrong key or corrupt data" "$ZC_DIR/server.log" || fail "expected the pgcrypto wrapper error in the log"
zc_check_server_log
echo "crypto_leaks: ok"
