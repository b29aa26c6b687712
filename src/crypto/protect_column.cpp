// zerocut.protect_column(tbl regclass, col name, key_name text DEFAULT 'default',
//                        blind_index boolean DEFAULT true, keep_plaintext boolean DEFAULT false) RETURNS jsonb
//
// Adds <col>_encrypted bytea (reusing an existing bytea column of that name
// when it is empty or holds only zerocut ciphertexts), <col>_bidx bytea with
// an index, and the BEFORE INSERT OR UPDATE trigger zc_protect_<col> running
// zerocut.protect_column_trigger(), which encrypts every new value (and
// blanks the plaintext unless keep_plaintext).  Existing rows are converted
// by CALL zerocut.encrypt_column_backfill(tbl, col).  Returns what it did.
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/envelope.hpp"
#include "crypto/key_grants.hpp"
#include "crypto/keyring.hpp"
#include "crypto/protected_columns.hpp"
#include "pg/boundary.hpp"
#include "pg/compat.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
}

namespace {

struct Column {
    bool exists = false;
    Oid type = InvalidOid;
    bool not_null = false;
    int attnum = 0;
};

Column find_column(zc::pg::SpiSession& spi, Oid relid, const std::string& name)
{
    spi.execute(
        "SELECT atttypid::int8, attnotnull, attnum FROM pg_catalog.pg_attribute "
        "WHERE attrelid = $1 AND attname = $2::text::name AND attnum > 0 AND NOT attisdropped",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(relid)}, zc::pg::text_param(name)}, true);
    auto rows = spi.rows_text();
    Column column;
    if (rows.empty()) return column;
    column.exists = true;
    column.type = static_cast<Oid>(std::stoul(rows[0][0].value()));
    column.not_null = rows[0][1].value() == "t";
    column.attnum = std::stoi(rows[0][2].value());
    return column;
}

void check_name_length(const std::string& name, const char* what)
{
    if (name.size() >= NAMEDATALEN)
        throw zc::Error("42622", std::string("argument \"col\" is too long: the ") + what + " \"" + name +
                                     "\" would exceed 63 bytes");
}

struct Protected {
    std::string json;
};

// protect_column() makes a trigger that encrypts and blind-indexes under
// `key_name` for whoever writes the table: its caller must be one who may use
// the key, i.e. may run zerocut.encrypt() (and zerocut.blind_index() when a
// blind index is made) for the column's type.  EXECUTE on protect_column()
// alone is no licence to a key: else the owner of any table could protect a
// column of its own under another's key and compare blind indexes (or make
// ciphertexts) it could not compute itself.  Nor is EXECUTE on encrypt()
// a licence to every key: the caller must hold the encrypt right on this one
// (zerocut.grant_key()).  The trigger then encrypts for every writer of the
// table without checking them: the key's use was authorised here.
void require_key_use(zc::pg::SpiSession& spi, const std::string& key_name, bool bytea_column, bool blind)
{
    std::string type = bytea_column ? "bytea" : "text";
    std::vector<std::string> needed{"zerocut.encrypt(" + type + ", text, text)"};
    if (blind) needed.push_back("zerocut.blind_index(" + type + ", text)");
    for (const auto& function : needed) {
        auto allowed = spi.query_text("SELECT pg_catalog.has_function_privilege($1, 'EXECUTE')::text",
                                      {zc::pg::text_param(function)});
        if (allowed.value_or("false") != "true")
            throw zc::Error(zc::sqlstate::insufficient_privilege,
                            "argument \"key_name\": permission denied to use key \"" + key_name + "\": EXECUTE on " +
                                function + " is missing",
                            "protect_column() lets its caller encrypt" + std::string(blind ? " and blind-index" : "") +
                                " under the key, so the caller must be allowed to do so itself.",
                            "GRANT EXECUTE ON FUNCTION " + needed[0] + (blind ? ", " + needed[1] : std::string()) +
                                " to the role" + (blind ? ", or pass blind_index => false" : "") + ".");
    }
    zc::crypto::require_key_right(key_name, zc::crypto::KeyRight::encrypt, "zerocut.protect_column()");
}

Protected protect(Oid relid, const std::string& col, const std::string& key_name, bool blind, bool keep)
{
    zc::pg::PinnedSearchPath path;
    path.set("client_min_messages", "warning");  // no "trigger does not exist, skipping"
    zc::pg::SpiSession spi;
    spi.execute(
        "SELECT c.relkind::text, n.nspname::text, c.relname::text FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(relid)}}, true);
    auto rel = spi.rows_text();
    if (rel.empty())
        throw zc::Error(zc::sqlstate::undefined_table,
                        "argument \"tbl\": relation with OID " + std::to_string(relid) + " does not exist");
    std::string relkind = rel[0][0].value(), schema = rel[0][1].value(), table = rel[0][2].value();
    std::string qualified = zc::pg::quote_ident(schema) + "." + zc::pg::quote_ident(table);
    if (relkind != "r" && relkind != "p")
        throw zc::Error(zc::sqlstate::wrong_object_type,
                        "argument \"tbl\": \"" + schema + "." + table + "\" is not a table");
    zc::pg::require_table_owner(relid, "tbl");
    zc::pg::refuse_zerocut_relation(relid, "tbl", "protected");
    Column plain = find_column(spi, relid, col);
    if (!plain.exists)
        throw zc::Error(zc::sqlstate::undefined_column, "argument \"col\": column \"" + col + "\" of table \"" +
                                                            schema + "." + table + "\" does not exist");
    if (plain.type != TEXTOID && plain.type != VARCHAROID && plain.type != BPCHAROID && plain.type != BYTEAOID)
        throw zc::Error("42804",
                        "argument \"col\": column \"" + col + "\" must be of type text, varchar, char or bytea");
    if (!keep && plain.not_null)
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "argument \"col\": column \"" + col + "\" is NOT NULL, so its plaintext cannot be blanked", "",
                        "ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL first, or pass keep_plaintext => true.");
    std::string enc = col + "_encrypted", bidx = col + "_bidx", trigger = "zc_protect_" + col;
    check_name_length(enc, "encrypted column");
    check_name_length(bidx, "blind-index column");
    check_name_length(trigger, "trigger");
    std::string context = schema + "." + table + "." + col;
    // The context joins the names with dots: a dot in one of them would let
    // two columns share a context (their ciphertexts would pass for each
    // other's).  Refused for a new protection; a column protected before
    // (by 0.1.0) with this very context may be protected again.
    if (schema.find('.') != std::string::npos || table.find('.') != std::string::npos ||
        col.find('.') != std::string::npos) {
        auto recorded = zc::crypto::find_protected_column(relid, col);
        if (!recorded || recorded->relid != relid || recorded->context != context)
            throw zc::Error(zc::sqlstate::invalid_parameter_value,
                            std::string("argument \"") + (col.find('.') != std::string::npos ? "col" : "tbl") +
                                "\": the context \"" + context +
                                "\" would be ambiguous: schema, table and column names may not contain \".\"",
                            "", "Rename the schema, table or column.");
    }
    require_key_use(spi, key_name, plain.type == BYTEAOID, blind);

    // The key must exist and the root key must be usable before anything changes.
    zc::crypto::DataKey key = zc::crypto::active_key(key_name, "key_name");
    if (blind) zc::crypto::blind_index_key(key_name, "key_name");

    Column encrypted = find_column(spi, relid, enc);
    bool reused = encrypted.exists;
    if (encrypted.exists) {
        if (encrypted.type != BYTEAOID)
            throw zc::Error("42804", "column \"" + enc + "\" exists and is not of type bytea");
        std::optional<std::string> foreign;
        {
            // Every row, past a forced row security the owner has no policy in.
            zc::pg::AsTableOwner owner(relid);
            foreign = spi.query_text("SELECT count(*) FROM " + qualified + " WHERE " + zc::pg::quote_ident(enc) +
                                     " IS NOT NULL AND (length(" + zc::pg::quote_ident(enc) + ") < 37 OR substr(" +
                                     zc::pg::quote_ident(enc) + ", 1, 4) <> '\\x5a434501'::bytea)");
        }
        if (foreign && *foreign != "0")
            throw zc::Error(
                zc::sqlstate::object_not_in_prerequisite_state,
                "column \"" + enc + "\" already holds data that is not a zerocut ciphertext (" + *foreign + " rows)",
                "",
                "Decrypt them (e.g. pgcrypto data with zerocut.decrypt_sensitive_data) into \"" + col +
                    "\" and set \"" + enc + "\" to NULL first.");
    } else {
        spi.execute("ALTER TABLE " + qualified + " ADD COLUMN " + zc::pg::quote_ident(enc) + " bytea");
    }
    if (blind) {
        Column index_column = find_column(spi, relid, bidx);
        if (index_column.exists && index_column.type != BYTEAOID)
            throw zc::Error("42804", "column \"" + bidx + "\" exists and is not of type bytea");
        if (!index_column.exists) {
            spi.execute("ALTER TABLE " + qualified + " ADD COLUMN " + zc::pg::quote_ident(bidx) + " bytea");
            index_column = find_column(spi, relid, bidx);
        }
        auto indexed = spi.query_text(
            "SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = $1 AND indnkeyatts = 1 AND indkey[0] = $2 "
            "AND indpred IS NULL AND indexprs IS NULL",
            {zc::pg::Param{OIDOID, ObjectIdGetDatum(relid)}, zc::pg::int4_param(index_column.attnum)});
        if (indexed.value_or("0") == "0")
            spi.execute("CREATE INDEX ON " + qualified + " (" + zc::pg::quote_ident(bidx) + ")");
    }
    spi.execute("DROP TRIGGER IF EXISTS " + zc::pg::quote_ident(trigger) + " ON " + qualified);
    {
        // The registry the trigger checks, and the trigger itself, as the
        // extension's owner: the caller needs no grant on the registry nor
        // EXECUTE on protect_column_trigger() (revoked from PUBLIC, and
        // CREATE TRIGGER asks for it).  No user code runs here.
        zc::pg::AsExtensionOwner owner;
        spi.execute(
            "INSERT INTO zerocut.protected_column (relation, column_name, key_name, context, blind_index_column, "
            "keep_plaintext) VALUES ($1::oid::regclass, $2::text::name, $3, $4, $5::text::name, $6::text::boolean) "
            "ON CONFLICT (relation, column_name) DO UPDATE SET key_name = EXCLUDED.key_name, "
            "context = EXCLUDED.context, blind_index_column = EXCLUDED.blind_index_column, "
            "keep_plaintext = EXCLUDED.keep_plaintext, protected_at = EXCLUDED.protected_at",
            {zc::pg::Param{OIDOID, ObjectIdGetDatum(relid)}, zc::pg::text_param(col), zc::pg::text_param(key_name),
             zc::pg::text_param(context), blind ? zc::pg::text_param(bidx) : zc::pg::Param{TEXTOID, (Datum)0, true},
             zc::pg::text_param(keep ? "true" : "false")});
        spi.execute("CREATE TRIGGER " + zc::pg::quote_ident(trigger) + " BEFORE INSERT OR UPDATE ON " + qualified +
                    " FOR EACH ROW EXECUTE FUNCTION zerocut.protect_column_trigger(" + zc::pg::quote_literal(col) +
                    ", " + zc::pg::quote_literal(key_name) + ", " + (blind ? "'true'" : "'false'") + ", " +
                    (keep ? "'true'" : "'false'") + ", " + zc::pg::quote_literal(context) + ")");
        zc::pg::let_owner_execute(spi, "zerocut.protect_column_trigger()", relid);
    }
    std::string pending;
    {
        zc::pg::AsTableOwner owner(relid);  // every row, as the backfill will see them
        pending =
            spi.query_text("SELECT count(*) FROM " + qualified + " WHERE " + zc::pg::quote_ident(col) + " IS NOT NULL" +
                           (keep ? " AND " + zc::pg::quote_ident(enc) + " IS NULL" : std::string()))
                .value_or("0");
    }
    std::string json =
        "{\"table\": " + zc::core::json_string(schema + "." + table) + ", \"column\": " + zc::core::json_string(col) +
        ", \"encrypted_column\": " + zc::core::json_string(enc) +
        ", \"reused_encrypted_column\": " + (reused ? "true" : "false") +
        ", \"blind_index_column\": " + (blind ? zc::core::json_string(bidx) : std::string("null")) +
        ", \"trigger\": " + zc::core::json_string(trigger) + ", \"key\": " + zc::core::json_string(key_name) +
        ", \"context\": " + zc::core::json_string(context) + ", \"keep_plaintext\": " + (keep ? "true" : "false") +
        ", \"rows_to_backfill\": " + pending + "}";
    zc::pg::write_system_log(spi, "INFO", "crypto: protected column " + context, json);
    return Protected{json};
}

}  // namespace

ZC_FUNCTION(zc_protect_column)
{
    zc::pg::require_arg(fcinfo, 0, "tbl");
    zc::pg::require_arg(fcinfo, 1, "col");
    zc::pg::require_arg(fcinfo, 2, "key_name");
    zc::pg::require_arg(fcinfo, 3, "blind_index");
    zc::pg::require_arg(fcinfo, 4, "keep_plaintext");
    Oid relid = PG_GETARG_OID(0);
    std::string col = NameStr(*PG_GETARG_NAME(1));
    std::string key_name = zc::pg::text_arg(fcinfo, 2);
    bool blind = PG_GETARG_BOOL(3);
    bool keep = PG_GETARG_BOOL(4);
    if (col.empty()) throw zc::Error(zc::sqlstate::invalid_parameter_value, "argument \"col\" must not be empty");
    Protected result = protect(relid, col, key_name, blind, keep);
    const char* json = result.json.c_str();
    return zc::pg::guard([=] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json)); });
}
