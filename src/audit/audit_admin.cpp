#include "audit/audit_admin.hpp"

#include "core/audit_options.hpp"
#include "core/errors.hpp"
#include "pg/compat.hpp"
#include "pg/guard.hpp"
#include "pg/run_as.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "utils/lsyscache.h"
}

namespace zc::audit {

AuditedTable audited_table(Oid relid, const char* arg_name, bool for_disable)
{
    char* name = zc::pg::guard([=] { return get_rel_name(relid); });
    if (name == nullptr)
        throw Error(sqlstate::undefined_table, std::string("argument \"") + arg_name + "\": relation with OID " +
                                                   std::to_string(relid) + " does not exist");
    char kind = zc::pg::guard([=] { return get_rel_relkind(relid); });
    AuditedTable table{relid, "", name, ""};
    Oid namespace_oid = zc::pg::guard([=] { return get_rel_namespace(relid); });
    char* schema = zc::pg::guard([=] { return get_namespace_name(namespace_oid); });
    table.schema = schema ? schema : "";
    table.qualified = zc::pg::qualified_relation_name(relid);
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
        throw Error(sqlstate::wrong_object_type,
                    std::string("argument \"") + arg_name + "\": " + table.qualified + " is not a table",
                    "only tables and partitioned tables can be audited");
    // zerocut's own tables (the config, the keys, the log and its
    // partitions) are never audited: their rows would be copied into the log.
    // Disabling stays possible, to undo what an older version allowed.
    if (!for_disable) zc::pg::refuse_zerocut_relation(relid, arg_name, "audited");
    zc::pg::require_table_owner(relid, arg_name);
    return table;
}

uint64 write_config(zc::pg::SpiSession& spi, const std::string& sql, std::initializer_list<zc::pg::Param> params)
{
    zc::pg::AsExtensionOwner as_extension_owner;
    return spi.execute(sql, params);
}

uint64 sync_config(zc::pg::SpiSession& spi)
{
    zc::pg::AsExtensionOwner as_extension_owner;
    uint64 removed = spi.execute(
        "DELETE FROM zerocut.audit_config c WHERE NOT EXISTS "
        "(SELECT FROM pg_catalog.pg_class r WHERE r.oid = c.relation::pg_catalog.oid)");
    uint64 renamed = spi.execute(
        "UPDATE zerocut.audit_config c SET schema_name = n.nspname, table_name = r.relname "
        "FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
        "WHERE r.oid = c.relation::pg_catalog.oid "
        "AND (c.schema_name, c.table_name) IS DISTINCT FROM (n.nspname, r.relname)");
    return removed + renamed;
}

int drop_audit_triggers(zc::pg::SpiSession& spi, const AuditedTable& table)
{
    spi.execute(
        "SELECT tgname::text FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgparentid = 0 "
        "AND tgname = ANY (ARRAY[$2, $3, $4, $5, $6, $7]::pg_catalog.name[]) ORDER BY 1",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(table.relid)}, zc::pg::text_param(core::audit::row_trigger),
         zc::pg::text_param(core::audit::insert_trigger), zc::pg::text_param(core::audit::update_trigger),
         zc::pg::text_param(core::audit::delete_trigger), zc::pg::text_param(core::audit::truncate_trigger),
         zc::pg::text_param(core::audit::flush_trigger)},
        true);
    auto rows = spi.rows_text();
    for (const auto& row : rows) spi.execute("DROP TRIGGER " + zc::pg::quote_ident(*row[0]) + " ON " + table.qualified);
    return static_cast<int>(rows.size());
}

}  // namespace zc::audit
