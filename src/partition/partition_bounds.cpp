// zerocut.partition_bounds(parent regclass, time_zone text DEFAULT 'UTC')
//     RETURNS TABLE(partition regclass, is_default boolean, lower_at timestamptz,
//                   upper_at timestamptz)
//
// The direct partitions of a table partitioned by RANGE on one date,
// timestamp or timestamptz column, each with its bounds as instants, read
// from the catalog's bound (pg_class.relpartbound's node text, parsed by
// zc::core::parse_partition_bound_node as the partition engine does).
// Why: pg_get_expr(relpartbound, oid) opens and locks every partition and
// prints its bound as text that SQL must parse back; zerocut.alerts counts
// the partitions made ahead of thousands of partitions on every poll
// (docs/monitoring.md, "Measured cost").  date and timestamp bounds are
// local times in `time_zone` (as zerocut.partition_config.time_zone);
// MINVALUE, MAXVALUE and the default partition give NULL.  Reads only
// catalogs (which every role may read), takes no lock; a table dropped
// meanwhile gives no rows.
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/partition_calendar.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_partitioned_table.h"
#include "catalog/pg_type.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {

// The type of `parent`'s partition key when it is RANGE on one plain
// column of type date, timestamp or timestamptz (read from
// pg_partitioned_table, no lock); InvalidOid otherwise.
Oid time_key_type(Oid parent)
{
    return zc::pg::guard([=] {
        HeapTuple tuple = SearchSysCache1(PARTRELID, ObjectIdGetDatum(parent));
        if (!HeapTupleIsValid(tuple)) return InvalidOid;
        auto* form = reinterpret_cast<Form_pg_partitioned_table>(GETSTRUCT(tuple));
        bool one_column =
            form->partstrat == PARTITION_STRATEGY_RANGE && form->partnatts == 1 && form->partattrs.values[0] != 0;
        AttrNumber column = one_column ? form->partattrs.values[0] : 0;
        ReleaseSysCache(tuple);
        if (!one_column) return InvalidOid;
        Oid type = get_atttype(parent, column);
        return type == DATEOID || type == TIMESTAMPOID || type == TIMESTAMPTZOID ? type : InvalidOid;
    });
}

// The catalog's node text of partition `relid`'s bound (palloc'd), or
// nullptr when it is gone or has none.
char* bound_node_text(Oid relid)
{
    return zc::pg::guard([=]() -> char* {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
        if (!HeapTupleIsValid(tuple)) return nullptr;
        bool is_null = true;
        Datum stored = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &is_null);
        char* node_text = is_null ? nullptr : TextDatumGetCString(stored);
        ReleaseSysCache(tuple);
        return node_text;
    });
}

// A key's internal value (zc::core::RangeBound) as an instant: date and
// timestamp values are local times in `zone` (a text Datum).
Datum instant(Oid key_type, int64_t value, Datum zone)
{
    return zc::pg::guard([=] {
        switch (key_type) {
            case TIMESTAMPTZOID:
                return TimestampTzGetDatum(value);
            case TIMESTAMPOID:
                return DirectFunctionCall2(timestamp_zone, zone, TimestampGetDatum(value));
            default:  // DATEOID
                return DirectFunctionCall2(
                    timestamp_zone, zone,
                    DirectFunctionCall1(date_timestamp, DateADTGetDatum(static_cast<DateADT>(value))));
        }
    });
}

}  // namespace

ZC_FUNCTION(zc_partition_bounds)
{
    zc::pg::require_arg(fcinfo, 0, "parent");
    zc::pg::require_arg(fcinfo, 1, "time_zone");
    Oid parent = PG_GETARG_OID(0);
    std::string time_zone = zc::pg::text_arg(fcinfo, 1);
    const char* zone_name = time_zone.c_str();
    if (!zc::pg::guard([=] { return pg_tzset(zone_name) != nullptr; }))
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        fmt::format("argument \"time_zone\": time zone \"{}\" is not recognized", time_zone));
    Datum zone = zc::pg::text_datum(time_zone);

    char relkind = zc::pg::guard([=] { return get_rel_relkind(parent); });
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    if (relkind == '\0') return (Datum)0;  // dropped meanwhile (or never was)
    Oid key_type = relkind == RELKIND_PARTITIONED_TABLE ? time_key_type(parent) : InvalidOid;
    if (!OidIsValid(key_type)) {
        char* name = zc::pg::guard([=] { return DatumGetCString(DirectFunctionCall1(regclassout, parent)); });
        if (relkind != RELKIND_PARTITIONED_TABLE)
            throw zc::Error(zc::sqlstate::wrong_object_type,
                            fmt::format("argument \"parent\": {} is not a partitioned table", name));
        throw zc::Error(zc::sqlstate::feature_not_supported,
                        fmt::format("argument \"parent\": {} is not partitioned by RANGE on one date, timestamp or "
                                    "timestamptz column",
                                    name));
    }

    // Every row of pg_inherits, as a scan of it would list them (partitions
    // being detached included).
    List* children =
        zc::pg::guard([=] { return find_inheritance_children_extended(parent, false, NoLock, nullptr, nullptr); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int i = 0; i < list_length(children); ++i) {
        Oid child = list_nth_oid(children, i);
        char* node_text = bound_node_text(child);
        if (node_text == nullptr) continue;
        std::optional<zc::core::RangeBound> bound = zc::core::parse_partition_bound_node(node_text);
        zc::pg::guard([=] { pfree(node_text); });
        // A bound that does not parse is listed without its values.
        bool is_default = bound && bound->is_default;
        bool has_lower = bound && !is_default && bound->lower;
        bool has_upper = bound && !is_default && bound->upper;
        Datum values[4] = {ObjectIdGetDatum(child), BoolGetDatum(is_default),
                           has_lower ? instant(key_type, *bound->lower, zone) : (Datum)0,
                           has_upper ? instant(key_type, *bound->upper, zone) : (Datum)0};
        bool nulls[4] = {false, false, !has_lower, !has_upper};
        Datum* value_ptr = values;
        bool* null_ptr = nulls;
        zc::pg::guard([=] { tuplestore_putvalues(result->setResult, result->setDesc, value_ptr, null_ptr); });
    }
    return (Datum)0;
}
