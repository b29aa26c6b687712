#include "audit/audit_admin.hpp"

#include "core/audit_options.hpp"
#include "core/errors.hpp"
#include "pg/compat.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "utils/acl.h"
#include "access/htup_details.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace zc::audit {

namespace {

bool is_audit_log(Oid relid)
{
    return zc::pg::guard([=] {
        Oid namespace_oid = get_namespace_oid("audit_log", true);
        if (!OidIsValid(namespace_oid)) return false;
        Oid log = get_relname_relid("system_log", namespace_oid);
        if (!OidIsValid(log)) return false;
        if (relid == log) return true;
        if (!get_rel_relispartition(relid)) return false;
        return list_member_oid(get_partition_ancestors(relid), log);
    });
}

}  // namespace

AuditedTable audited_table(Oid relid, const char* arg_name)
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
    if (is_audit_log(relid))
        throw Error(sqlstate::wrong_object_type,
                    std::string("argument \"") + arg_name + "\": " + table.qualified + " is the audit log itself",
                    "auditing the log would log its own writes without end");
    bool owner = zc::pg::guard([=] { return zc::pg::owns_relation(relid, GetUserId()); });
    if (!owner)
        throw Error(sqlstate::insufficient_privilege,
                    std::string("argument \"") + arg_name + "\": must be owner of table " + table.qualified);
    return table;
}

uint64 write_config(zc::pg::SpiSession& spi, const std::string& sql, std::initializer_list<zc::pg::Param> params)
{
    Oid owner = zc::pg::guard([] {
        Oid config = get_relname_relid("audit_config", get_namespace_oid("zerocut", false));
        if (!OidIsValid(config)) elog(ERROR, "zerocut.audit_config is missing");
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(config));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for relation %u", config);
        Oid relowner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return relowner;
    });
    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE);
    // On an error the (sub)transaction abort restores the user.
    uint64 rows = spi.execute(sql, params);
    SetUserIdAndSecContext(saved_user, saved_context);
    return rows;
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
