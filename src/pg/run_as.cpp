#include "pg/run_as.hpp"

#include "core/errors.hpp"
#include "pg/compat.hpp"
#include "pg/guard.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace zc::pg {

AsRole::AsRole(Oid role, bool restricted, int extra_flags)
{
    GetUserIdAndSecContext(&saved_user_, &saved_context_);
    int context = saved_context_ | SECURITY_LOCAL_USERID_CHANGE | extra_flags;
    if (restricted) context |= SECURITY_RESTRICTED_OPERATION;
    SetUserIdAndSecContext(role, context);
}

AsRole::~AsRole()
{
    SetUserIdAndSecContext(saved_user_, saved_context_);
}

Oid relation_owner(Oid relid)
{
    Oid owner = guard([=] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
        if (!HeapTupleIsValid(tuple)) return InvalidOid;
        Oid result = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return result;
    });
    if (!OidIsValid(owner))
        throw Error(sqlstate::undefined_table, "relation with OID " + std::to_string(relid) + " does not exist");
    return owner;
}

Oid extension_owner()
{
    Oid owner = guard([] {
        Oid extension = get_extension_oid("zerocut", true);
        if (!OidIsValid(extension)) return InvalidOid;
        HeapTuple tuple = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(extension));
        if (!HeapTupleIsValid(tuple)) return InvalidOid;
        Oid result = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner;
        ReleaseSysCache(tuple);
        return result;
    });
    if (!OidIsValid(owner))
        throw Error(sqlstate::object_not_in_prerequisite_state, "extension \"zerocut\" is not installed", "",
                    "run CREATE EXTENSION zerocut first");
    return owner;
}

void require_table_owner(Oid relid, const char* arg_name)
{
    std::string name = qualified_relation_name(relid);
    bool owner = guard([=] { return owns_relation(relid, GetUserId()); });
    if (!owner)
        throw Error(sqlstate::insufficient_privilege,
                    std::string("argument \"") + arg_name + "\": must be owner of table " + name,
                    "zerocut works on a table only for its owner (or a superuser), and does the work with the "
                    "owner's rights");
}

bool is_zerocut_relation(Oid relid)
{
    return guard([=] {
        Oid zerocut_namespace = get_namespace_oid("zerocut", true);
        if (OidIsValid(zerocut_namespace) && get_rel_namespace(relid) == zerocut_namespace) return true;
        Oid extension = get_extension_oid("zerocut", true);
        if (OidIsValid(extension) && getExtensionOfObject(RelationRelationId, relid) == extension) return true;
        Oid log_namespace = get_namespace_oid("audit_log", true);
        if (!OidIsValid(log_namespace)) return false;
        Oid log = get_relname_relid("system_log", log_namespace);
        if (!OidIsValid(log)) return false;
        if (relid == log) return true;
        if (!get_rel_relispartition(relid)) return false;
        return list_member_oid(get_partition_ancestors(relid), log);
    });
}

void refuse_zerocut_relation(Oid relid, const char* arg_name, const char* what)
{
    if (!is_zerocut_relation(relid)) return;
    throw Error(sqlstate::wrong_object_type,
                std::string("argument \"") + arg_name + "\": " + qualified_relation_name(relid) +
                    " is one of zerocut's own tables and cannot be " + what,
                "zerocut's configuration, keys and audit log are kept only by zerocut itself");
}

void let_owner_execute(SpiSession& spi, const char* function, Oid relid)
{
    Oid owner = relation_owner(relid);
    if (guard([=] { return superuser_arg(owner); })) return;
    char* name = guard([=] { return GetUserNameFromId(owner, false); });
    spi.execute(std::string("GRANT EXECUTE ON FUNCTION ") + function + " TO " + quote_ident(name));
}

bool is_trusted_role(Oid role)
{
    return guard([=] { return superuser_arg(role); }) || role == extension_owner();
}

}  // namespace zc::pg
