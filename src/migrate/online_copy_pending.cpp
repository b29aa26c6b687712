// zerocut.online_copy_pending(copy_id integer, max_rows integer DEFAULT NULL)
//     RETURNS TABLE(seq bigint, key jsonb)  STABLE
//
// The captured changes of an online copy not yet replayed, oldest first.
// The copy's replay and verification statements (run as the tables' owner,
// who has no access to zerocut.online_copy_log) read the log through it:
// STABLE, it reads with the calling statement's snapshot (read-only SPI),
// so the keys and the rows of one statement are seen at the same moment.
// Only for a role with the privileges of the copy's source's owner (42501
// otherwise); the log is read as the extension's owner.
#include <string>

#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/acl.h"
#include "utils/tuplestore.h"
}

ZC_FUNCTION(zc_online_copy_pending)
{
    zc::pg::require_arg(fcinfo, 0, "copy_id");
    int32 copy_id = PG_GETARG_INT32(0);
    bool limited = !PG_ARGISNULL(1);
    int32 max_rows = limited ? PG_GETARG_INT32(1) : 0;
    if (limited && max_rows <= 0)
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        "argument \"max_rows\" must be positive or NULL, not " + std::to_string(max_rows));
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    zc::pg::PinnedSearchPath pinned;
    zc::pg::SpiSession spi;
    Oid source = InvalidOid;
    {
        zc::pg::AsExtensionOwner owner;
        auto found = spi.query_text(
            "SELECT source::pg_catalog.oid::pg_catalog.text FROM zerocut.online_copy "
            "WHERE copy_id = $1",
            {zc::pg::int4_param(copy_id)}, true);
        if (!found)
            throw zc::Error(zc::sqlstate::undefined_object,
                            "argument \"copy_id\": there is no online copy " + std::to_string(copy_id));
        source = static_cast<Oid>(std::stoul(*found));
    }
    Oid caller = zc::pg::guard([] { return GetUserId(); });
    Oid owner = zc::pg::relation_owner(source);
    if (!zc::pg::guard([=] { return has_privs_of_role(caller, owner); }))
        throw zc::Error(zc::sqlstate::insufficient_privilege,
                        "argument \"copy_id\": must be owner of table " + zc::pg::qualified_relation_name(source),
                        "the captured changes of an online copy are its tables' owner's");
    {
        zc::pg::AsExtensionOwner as_owner;
        // read_only: the calling statement's snapshot, not a new one.
        spi.execute_cached("SELECT seq, key FROM zerocut.online_copy_log WHERE copy_id = $1 ORDER BY seq LIMIT $2",
                           {zc::pg::int4_param(copy_id),
                            limited ? zc::pg::int8_param(max_rows) : zc::pg::Param{INT8OID, (Datum)0, true}},
                           true);
    }
    SPITupleTable* rows = SPI_tuptable;
    uint64 count = SPI_processed;
    zc::pg::guard([=] {
        for (uint64 i = 0; i < count; ++i) tuplestore_puttuple(result->setResult, rows->vals[i]);
    });
    return (Datum)0;
}
