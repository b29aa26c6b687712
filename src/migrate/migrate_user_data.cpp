// CALL zerocut.migrate_user_data(users regclass DEFAULT NULL)
//
// The seed's "USER" -> "USER_NEW" migration (seed section 数据迁移方案), done
// online.  For a legacy user table (default user_management."USER") of the
// seed's original shape -- phone in clear, no phone_encrypted, timezone,
// language or preferences -- it
//   1. makes <name>_NEW: LIKE <name> INCLUDING ALL (defaults, constraints,
//      indexes, identity, comments), plus phone_encrypted, phone_bidx (with
//      its index), timezone, language and preferences with the new shape's
//      defaults, and the table's row-level security policies;
//   2. CALLs online_copy with phone_encrypted = zerocut.encrypt(phone,
//      'default', '<schema>.<name>.phone') and phone_bidx =
//      zerocut.blind_index(phone, 'default') -- the ciphertext and blind index
//      protect_column's trigger would write -- and phone left NULL;
//   3. finishes with the swap (<name> becomes <name>_old) and, in the same
//      transaction, protect_column(<name>, 'phone'), so no later write
//      stores a phone in clear;
//   4. validates the foreign keys the swap re-created NOT VALID.
// On a table that already has the new shape it does nothing (NOTICE).  A
// CALL at top level; cancelled or crashed, calling it again resumes.  The
// key comes from the keyring, never from the SQL text.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "migrate/online_copy_engine.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "nodes/parsenodes.h"
}

namespace {

using Rows = std::vector<std::vector<std::optional<std::string>>>;

const char* const new_columns[] = {"phone_encrypted", "timezone", "language", "preferences"};

Rows rows_of(zc::pg::SpiSession& spi, const std::string& sql, std::initializer_list<zc::pg::Param> params = {})
{
    spi.execute(sql, params);
    return spi.rows_text();
}

zc::pg::Param oid_param(Oid oid)
{
    return zc::pg::Param{OIDOID, ObjectIdGetDatum(oid), false};
}

struct Table {
    Oid oid = InvalidOid;
    std::string schema, name, qname;
    Oid owner = InvalidOid;
};

Table table_of(zc::pg::SpiSession& spi, Oid oid)
{
    auto rows = rows_of(spi,
                        "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.relkind::pg_catalog.text, "
                        "c.relowner::pg_catalog.int8 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.oid = $1",
                        {oid_param(oid)});
    if (rows.empty())
        throw zc::Error(zc::sqlstate::undefined_table,
                        "argument \"users\": relation with OID " + std::to_string(oid) + " does not exist");
    Table t;
    t.oid = oid;
    t.schema = *rows[0][0];
    t.name = *rows[0][1];
    t.qname = zc::pg::quote_ident(t.schema) + "." + zc::pg::quote_ident(t.name);
    t.owner = static_cast<Oid>(std::stoll(*rows[0][3]));
    if (*rows[0][2] != "r" && *rows[0][2] != "p")
        throw zc::Error(zc::sqlstate::wrong_object_type, "argument \"users\": " + t.qname + " is not a table");
    return t;
}

std::set<std::string> column_names(zc::pg::SpiSession& spi, Oid oid)
{
    std::set<std::string> names;
    for (const auto& row : rows_of(spi,
                                   "SELECT attname::pg_catalog.text FROM pg_catalog.pg_attribute "
                                   "WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
                                   {oid_param(oid)}))
        names.insert(*row[0]);
    return names;
}

// The keyring must let both the caller (protect_column at the end) and the
// tables' owner (the column_map runs as the owner) encrypt and blind-index
// under 'default': checked before anything is copied.
void probe_key(zc::pg::SpiSession& spi)
{
    spi.execute(
        "SELECT pg_catalog.length(zerocut.encrypt('probe'::pg_catalog.text, 'default')) + "
        "pg_catalog.length(zerocut.blind_index('probe'::pg_catalog.text, 'default'))");
}

// Prepares <name>_NEW (or checks the one there) as the table's owner;
// returns its OID.
Oid prepare_target(zc::pg::SpiSession& spi, const Table& users, const std::string& new_name)
{
    std::string new_q = zc::pg::quote_ident(users.schema) + "." + zc::pg::quote_ident(new_name);
    auto existing =
        rows_of(spi,
                "SELECT c.oid::pg_catalog.int8 FROM pg_catalog.pg_class c WHERE c.relnamespace = "
                "(SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = $1) AND c.relname = $2::pg_catalog.name",
                {oid_param(users.oid), zc::pg::text_param(new_name)});
    zc::pg::AsTableOwner as_owner(users.oid);
    if (!existing.empty()) {
        Oid oid = static_cast<Oid>(std::stoll(*existing[0][0]));
        auto names = column_names(spi, oid);
        bool shaped = names.count("phone_bidx") > 0;
        for (const char* column : new_columns) shaped = shaped && names.count(column) > 0;
        spi.execute("SELECT 1 FROM " + new_q + " LIMIT 1");
        if (!shaped || SPI_processed > 0)
            throw zc::Error("42P07",
                            "migrate_user_data: " + new_q + " exists and is not an empty table of the new shape", "",
                            "Drop it (or rename it); migrate_user_data makes it.");
        return oid;
    }
    spi.execute("CREATE TABLE " + new_q + " (LIKE " + users.qname + " INCLUDING ALL)");
    spi.execute("ALTER TABLE " + new_q +
                " ALTER COLUMN phone DROP NOT NULL, ADD COLUMN phone_encrypted bytea, ADD COLUMN phone_bidx bytea, "
                "ADD COLUMN timezone character varying(50) NOT NULL DEFAULT 'UTC', "
                "ADD COLUMN language character varying(10) NOT NULL DEFAULT 'zh-CN', "
                "ADD COLUMN preferences jsonb NOT NULL DEFAULT '{}'::jsonb");
    spi.execute("CREATE INDEX ON " + new_q + " (phone_bidx)");
    spi.execute("SELECT $1::pg_catalog.text::pg_catalog.regclass::pg_catalog.oid::pg_catalog.int8",
                {zc::pg::text_param(new_q)});
    Oid oid = static_cast<Oid>(std::stoll(*spi.first_text()));
    zc::migrate::copy_policies(spi, users.oid, oid);
    return oid;
}

void migrate(zc::pg::SpiSession& spi, std::optional<Oid> given)
{
    Table users;
    Oid target = InvalidOid;
    std::string column_map;
    {
        zc::pg::PinnedSearchPath pinned;
        Oid oid = InvalidOid;
        if (given) {
            oid = *given;
        } else {
            auto found = rows_of(spi,
                                 "SELECT pg_catalog.to_regclass('user_management.\"USER\"')::pg_catalog.oid::"
                                 "pg_catalog.int8");
            if (!found[0][0])
                throw zc::Error(zc::sqlstate::undefined_table,
                                "migrate_user_data: table user_management.\"USER\" does not exist", "",
                                "Pass the legacy user table: CALL zerocut.migrate_user_data('schema.table').");
            oid = static_cast<Oid>(std::stoll(*found[0][0]));
        }
        users = table_of(spi, oid);
        zc::pg::require_table_owner(users.oid, "users");
        auto names = column_names(spi, users.oid);
        std::vector<std::string> present;
        for (const char* column : new_columns)
            if (names.count(column)) present.push_back(column);
        if (present.size() == std::size(new_columns)) {
            zc::pg::notice("migrate_user_data: " + users.qname +
                           " already has the new shape (phone_encrypted, timezone, language, preferences); "
                           "nothing to migrate");
            return;
        }
        if (!present.empty()) {
            std::string list;
            for (const auto& column : present) list += (list.empty() ? "" : ", ") + column;
            throw zc::Error(
                zc::sqlstate::object_not_in_prerequisite_state,
                "migrate_user_data: " + users.qname + " has only some columns of the new shape (" + list + ")",
                "neither the seed's original shape nor the new one", "Finish that change by hand.");
        }
        if (!names.count("phone"))
            throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                            "migrate_user_data: " + users.qname + " has no column \"phone\"",
                            "not the seed's user table");
        if (users.schema.find('.') != std::string::npos || users.name.find('.') != std::string::npos)
            throw zc::Error(zc::sqlstate::invalid_parameter_value,
                            "argument \"users\": " + users.qname +
                                ": the encryption context <schema>.<table>.phone would be ambiguous with a \".\" "
                                "in a name",
                            "", "Rename the schema or table.");
        std::string new_name = users.name + "_NEW";
        if (new_name.size() >= NAMEDATALEN)
            throw zc::Error("42622",
                            "migrate_user_data: the new table's name \"" + new_name + "\" would exceed 63 bytes");
        probe_key(spi);
        {
            zc::pg::AsTableOwner as_owner(users.oid);
            probe_key(spi);
        }
        auto copy = zc::migrate::copy_of(spi, users.oid);
        if (copy) {
            if (copy->source != users.oid)
                throw zc::Error("55006", "migrate_user_data: " + users.qname + " is the target of the online copy of " +
                                             copy->source_name);
            target = copy->target;
            auto target_table = table_of(spi, target);
            if (target_table.name != new_name)
                throw zc::Error("55006",
                                "migrate_user_data: " + users.qname + " is being copied into " + copy->target_name +
                                    ", not into its _NEW table",
                                "", "Finish or abandon that copy first.");
        } else {
            target = prepare_target(spi, users, new_name);
        }
        std::string context = zc::pg::quote_literal(users.schema + "." + users.name + ".phone");
        column_map = "{\"phone\": \"NULL\", \"phone_encrypted\": " +
                     zc::core::json_string("zerocut.encrypt(phone, 'default', " + context + ")") +
                     ", \"phone_bidx\": \"zerocut.blind_index(phone, 'default')\"}";
    }
    if (target == InvalidOid) return;  // nothing to migrate
    zc::pg::guard([] { SPI_commit(); });

    zc::migrate::run_online_copy(spi, users.oid, target, column_map, 5000);

    // The swap and the protection in one transaction: no write ever lands
    // in the new table's phone column unencrypted.
    zc::migrate::FinishResult finished = zc::migrate::finish_online_copy(spi, users.oid, target, true);
    {
        zc::pg::PinnedSearchPath pinned;
        spi.execute("SELECT zerocut.protect_column($1::pg_catalog.oid::pg_catalog.regclass, 'phone')",
                    {oid_param(target)});
    }
    zc::pg::guard([] { SPI_commit(); });
    // Foreign keys re-created NOT VALID under the lock: validated now, each
    // in its own transaction (SHARE UPDATE EXCLUSIVE: writes go on).
    for (const auto& statement : finished.to_validate) {
        {
            zc::pg::PinnedSearchPath pinned;
            zc::pg::AsTableOwner as_owner(target);
            spi.execute(statement);
        }
        zc::pg::guard([] { SPI_commit(); });
    }
    zc::pg::notice("migrate_user_data: " + users.qname + " now has the new shape (" +
                   std::to_string(finished.target_rows) +
                   " rows; phone encrypted under key 'default' and blind-indexed, protected by protect_column); the "
                   "legacy table is " +
                   zc::pg::quote_ident(users.schema) + "." + zc::pg::quote_ident(users.name + "_old") +
                   ", drop it once satisfied");
}

}  // namespace

ZC_FUNCTION(zc_migrate_user_data)
{
    bool nonatomic = fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
                     !castNode(CallContext, fcinfo->context)->atomic;
    if (!nonatomic)
        throw zc::Error("2D000",
                        "migrate_user_data: must be called with CALL at top level, outside a transaction block",
                        "it copies in committed batches");
    if (zc::pg::in_recovery()) {
        zc::pg::notice("migrate_user_data: this server is a hot standby; nothing is migrated");
        PG_RETURN_VOID();
    }
    std::optional<Oid> users;
    if (!PG_ARGISNULL(0)) users = PG_GETARG_OID(0);
    {
        zc::pg::SpiSession spi(true);
        migrate(spi, users);
    }
    PG_RETURN_VOID();
}
