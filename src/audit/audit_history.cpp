// zerocut.audit_history(tbl regclass, pk jsonb) RETURNS TABLE (the columns
// of audit_log.system_log)
//
// One row's history in the order it happened (log id order): every log row
// of `tbl` whose primary key is `pk`, e.g. '{"id": 42}'.  A containment
// query naming table and pk, which the log's GIN index
// (idx_system_log_metadata_gin, operator class jsonb_log_ops) answers with
// the row's own keys.  Runs as the caller (who needs SELECT on the log); a
// database without a log has no history.
#include <string>

#include "audit/audit_admin.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace {

// Tuples go into the result store unconverted: same column count and types.
bool rows_fit_result(TupleDesc rows, TupleDesc result)
{
    if (rows->natts != result->natts) return false;
    for (int i = 0; i < rows->natts; ++i)
        if (TupleDescAttr(rows, i)->atttypid != TupleDescAttr(result, i)->atttypid) return false;
    return true;
}

}  // namespace

ZC_FUNCTION(zc_audit_history)
{
    zc::pg::require_arg(fcinfo, 0, "tbl");
    zc::pg::require_arg(fcinfo, 1, "pk");
    Oid relid = PG_GETARG_OID(0);
    Jsonb* pk = zc::pg::guard([=] { return PG_GETARG_JSONB_P(1); });
    if (!JB_ROOT_IS_OBJECT(pk) || JB_ROOT_COUNT(pk) == 0)
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        "argument \"pk\" must be a non-empty jsonb object of primary key columns", "",
                        "Example: zerocut.audit_history('workspace_domain.workspace', '{\"id\": 42}')");
    char* name = zc::pg::guard([=] { return get_rel_name(relid); });
    if (name == nullptr)
        throw zc::Error(zc::sqlstate::undefined_table,
                        "argument \"tbl\": relation with OID " + std::to_string(relid) + " does not exist");
    Oid namespace_oid = zc::pg::guard([=] { return get_rel_namespace(relid); });
    char* schema = zc::pg::guard([=] { return get_namespace_name(namespace_oid); });

    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    bool has_log = zc::pg::guard([] {
        Oid log_namespace = get_namespace_oid("audit_log", true);
        return OidIsValid(log_namespace) && OidIsValid(get_relname_relid("system_log", log_namespace));
    });
    if (!has_log) return (Datum)0;
    {
        zc::pg::SpiSession spi;
        zc::pg::PinnedSearchPath pinned;
        spi.execute_cached(
            // Cast to the result's types: the log's columns may have been
            // altered since (ALTER ... TYPE), and the tuples go to the
            // result as they are.
            "SELECT id::pg_catalog.int8, level::pg_catalog.varchar, message::pg_catalog.text, "
            "metadata::pg_catalog.jsonb, user_id::pg_catalog.int4, created_at::pg_catalog.timestamptz "
            "FROM audit_log.system_log "
            "WHERE metadata @> pg_catalog.jsonb_build_object('schema', $3, 'table', $1, 'pk', $2) "
            "AND (metadata -> 'pk') = $2 ORDER BY id",
            {zc::pg::text_param(name), zc::pg::Param{JSONBOID, JsonbPGetDatum(pk)},
             zc::pg::text_param(schema ? schema : "")},
            true);
        SPITupleTable* rows = SPI_tuptable;
        uint64 count = SPI_processed;
        if (!rows_fit_result(rows->tupdesc, result->setDesc))
            throw zc::Error(zc::sqlstate::datatype_mismatch,
                            "audit_log.system_log's columns do not match the result of audit_history()");
        zc::pg::guard([=] {
            for (uint64 i = 0; i < count; ++i) tuplestore_puttuple(result->setResult, rows->vals[i]);
        });
    }
    return (Datum)0;
}
