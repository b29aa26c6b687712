// zerocut.run_maintenance(parent regclass DEFAULT NULL)
//     RETURNS TABLE(parent regclass, action text, partition text, detail text)
//
// For every managed parent (or the one given): partitions through now +
// premake, rows of the default partition moved into their own partitions,
// retention applied, every action logged to audit_log.system_log.  Never
// waits in the lock manager for a parent: after zerocut.partition_lock_timeout
// it skips the parent with a NOTICE.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "partition/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace {

std::vector<zc::partition::Action> run(std::optional<Oid> parent)
{
    zc::pg::SpiSession spi;
    zc::partition::EngineSettings settings;
    if (parent) {
        zc::pg::Param oid{OIDOID, ObjectIdGetDatum(*parent), false};
        auto exists =
            zc::partition::query_value(spi, "SELECT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = $1)", {oid});
        // docs/partitions.md, "Privileges".  A managed parent that was
        // dropped is forgotten by maintain(), whoever asks: nothing of anyone
        // is touched.
        if (exists == std::optional<std::string>("t"))
            zc::partition::require_may_manage(*parent, "parent", "maintained");
        std::optional<std::string> managed;
        {
            zc::pg::AsExtensionOwner as_extension_owner;  // zerocut's own table: the caller needs no grant
            managed = zc::partition::query_value(
                spi, "SELECT EXISTS (SELECT FROM zerocut.partition_config WHERE parent::pg_catalog.oid = $1)", {oid});
        }
        if (managed != std::optional<std::string>("t")) {
            if (exists != std::optional<std::string>("t"))
                throw zc::Error(zc::sqlstate::undefined_table,
                                fmt::format("argument \"parent\": relation with OID {} does not exist", *parent));
            throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                            fmt::format("argument \"parent\": {} is not managed by zerocut",
                                        zc::pg::qualified_relation_name(*parent)),
                            "", "Register it first with zerocut.manage_partitions().");
        }
    }
    return zc::partition::maintain(spi, zc::partition::MaintainOptions{parent, true, std::nullopt, true});
}

}  // namespace

ZC_FUNCTION(zc_run_maintenance)
{
    std::optional<Oid> parent;
    if (!PG_ARGISNULL(0)) parent = PG_GETARG_OID(0);
    std::vector<zc::partition::Action> actions;
    if (zc::pg::in_recovery())
        zc::pg::notice("zerocut: run_maintenance() does nothing on a hot standby");
    else
        actions = run(parent);
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const zc::partition::Action& action : actions) {
        Datum values[4] = {ObjectIdGetDatum(action.parent), zc::pg::text_datum(action.action),
                           zc::pg::text_datum(action.partition), zc::pg::text_datum(action.detail)};
        bool nulls[4] = {false, false, action.partition.empty(), false};
        Datum* value_ptr = values;
        bool* null_ptr = nulls;
        zc::pg::guard([=] { tuplestore_putvalues(result->setResult, result->setDesc, value_ptr, null_ptr); });
    }
    return (Datum)0;
}
