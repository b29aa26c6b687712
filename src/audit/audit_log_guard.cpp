// zerocut.audit_log_guard() RETURNS trigger
//
// BEFORE UPDATE OR DELETE ... FOR EACH ROW and BEFORE TRUNCATE ... FOR EACH
// STATEMENT on audit_log.system_log: the log is append-only for everyone but
// its owner (and roles with the owner's privileges), whatever was granted.
#include <string>

#include "pg/boundary.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "catalog/partition.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

ZC_FUNCTION(zc_audit_log_guard)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "audit_log_guard() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    TriggerEvent event = data->tg_event;
    if (!TRIGGER_FIRED_BEFORE(event) || TRIGGER_FIRED_BY_INSERT(event))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "audit_log_guard() must be fired BEFORE UPDATE, DELETE or TRUNCATE");
    Oid owner = data->tg_relation->rd_rel->relowner;
    bool allowed = zc::pg::guard([=] { return has_privs_of_role(GetUserId(), owner); });
    if (!allowed) {
        const char* what = TRIGGER_FIRED_BY_UPDATE(event)   ? "UPDATE"
                           : TRIGGER_FIRED_BY_DELETE(event) ? "DELETE"
                                                            : "TRUNCATE";
        // A row trigger fires on the partition: name the partitioned log.
        Oid relid = RelationGetRelid(data->tg_relation);
        Oid root = zc::pg::guard([=] {
            List* ancestors = data->tg_relation->rd_rel->relispartition ? get_partition_ancestors(relid) : NIL;
            return ancestors != NIL ? llast_oid(ancestors) : relid;
        });
        std::string table = zc::pg::qualified_relation_name(root);
        char* owner_name = zc::pg::guard([=] { return GetUserNameFromId(owner, true); });
        throw zc::Error(zc::sqlstate::insufficient_privilege,
                        "audit log " + table + " is append-only: " + what + " refused",
                        std::string("only its owner ") + (owner_name ? zc::pg::quote_ident(owner_name) : "") +
                            " may change or remove log rows",
                        "Old log rows leave by dropping or detaching their monthly partition.");
    }
    if (TRIGGER_FIRED_FOR_STATEMENT(event)) return PointerGetDatum(nullptr);
    return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(event) ? data->tg_newtuple : data->tg_trigtuple);
}
