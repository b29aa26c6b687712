// zerocut.managed_parents() RETURNS TABLE(parent regclass, may_maintain boolean)
//
// Every managed parent and whether the current user may have it maintained
// (docs/partitions.md, "Privileges"): run_maintenance_proc() loops over it,
// and the caller needs no grant on zerocut.partition_config.  A parent that
// no longer exists: true (run_maintenance only forgets its configuration).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "partition/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace {

std::vector<std::pair<Oid, bool>> managed_parents()
{
    zc::pg::SpiSession spi;
    zc::partition::EngineSettings settings;
    std::vector<std::pair<Oid, bool>> parents;  // (parent, exists)
    {
        zc::pg::AsExtensionOwner as_extension_owner;  // zerocut's own table, our SQL only
        spi.execute(
            "SELECT c.parent::pg_catalog.oid, EXISTS (SELECT FROM pg_catalog.pg_class r WHERE r.oid = c.parent) "
            "FROM zerocut.partition_config c ORDER BY c.parent::pg_catalog.oid");
        for (const auto& row : spi.rows_text())
            parents.emplace_back(static_cast<Oid>(std::stoul(row[0].value_or("0"))),
                                 row[1] == std::optional<std::string>("t"));
    }
    for (auto& [parent, exists] : parents) exists = !exists || zc::partition::may_manage(parent);
    return parents;
}

}  // namespace

ZC_FUNCTION(zc_managed_parents)
{
    std::vector<std::pair<Oid, bool>> parents = managed_parents();
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& [parent, may] : parents) {
        Datum values[2] = {ObjectIdGetDatum(parent), BoolGetDatum(may)};
        bool nulls[2] = {false, false};
        Datum* value_ptr = values;
        bool* null_ptr = nulls;
        zc::pg::guard([=] { tuplestore_putvalues(result->setResult, result->setDesc, value_ptr, null_ptr); });
    }
    return (Datum)0;
}
