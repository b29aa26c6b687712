// zerocut.encrypt_column_batch(tbl regclass, col name, start_block bigint, end_block bigint,
//                              batch_size integer, OUT next_block bigint, OUT end_block bigint,
//                              OUT rows_encrypted bigint)
//
// One committed-batch step of CALL zerocut.encrypt_column_backfill(): the
// rows of blocks [start_block, start_block + n) of every leaf partition whose
// plaintext still needs encrypting are touched (UPDATE SET col = col), so the
// protect_column trigger encrypts them.  n is chosen from the table's tuple
// density to cover about batch_size rows (a TID range scan: no re-reading of
// earlier blocks, no OFFSET).  end_block NULL means "the table's size now";
// rows inserted later go through the trigger anyway.  next_block is NULL
// after the last batch.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/json.hpp"
#include "core/envelope.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "access/htup_details.h"
}

namespace {

struct Batch {
    int64 next_block = -1;  // -1: finished
    int64 end_block = 0;
    int64 rows = 0;
};

Batch run_batch(Oid relid, const std::string& col, int64 start, std::optional<int64> end, int32 batch_size)
{
    zc::pg::require_table_owner(relid, "tbl");
    zc::pg::PinnedSearchPath path;
    zc::pg::SpiSession spi;
    std::string qualified = zc::pg::qualified_relation_name(relid);
    zc::pg::Param rel{OIDOID, ObjectIdGetDatum(relid)};
    std::string trigger = "zc_protect_" + col;
    auto args = spi.query_text(
        "SELECT (string_to_array(encode(tgargs, 'escape'), '\\000'))[4] FROM "
        "pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = $2::text::name",
        {rel, zc::pg::text_param(trigger)});
    if (!args)
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "argument \"col\": column \"" + col + "\" of " + qualified + " is not protected", "",
                        "Run SELECT zerocut.protect_column(...) first.");
    bool keep = *args == "true";
    Batch batch;
    if (end) {
        batch.end_block = *end;
    } else {
        batch.end_block = std::stoll(
            spi.query_text(
                   "SELECT coalesce(max(pg_catalog.pg_relation_size(relid)), 0) / "
                   "current_setting('block_size')::bigint FROM (SELECT relid FROM pg_catalog.pg_partition_tree($1) "
                   "WHERE isleaf UNION SELECT $1::regclass) leaves",
                   {rel})
                .value_or("0"));
    }
    double density = std::stod(
        spi.query_text(
               "SELECT coalesce(sum(greatest(c.reltuples, 0)) / nullif(sum(c.relpages), 0), 50) "
               "FROM (SELECT relid FROM pg_catalog.pg_partition_tree($1) WHERE isleaf UNION SELECT $1::regclass) t "
               "JOIN pg_catalog.pg_class c ON c.oid = t.relid",
               {rel})
            .value_or("50"));
    int64 blocks = std::max<int64>(1, static_cast<int64>(std::floor(batch_size / std::max(density, 1.0))));
    int64 stop = std::min<int64>(start + blocks, batch.end_block);
    if (start < batch.end_block) {
        // The UPDATE fires the table owner's triggers: run it as the owner,
        // restricted, never with the caller's (a superuser's) rights.
        zc::pg::AsTableOwner as_owner(relid);
        std::string quoted = zc::pg::quote_ident(col);
        std::string sql = "UPDATE " + qualified + " SET " + quoted + " = " + quoted +
                          " WHERE ctid >= $1::text::tid AND ctid < $2::text::tid AND " + quoted + " IS NOT NULL" +
                          (keep ? " AND " + zc::pg::quote_ident(col + "_encrypted") + " IS NULL" : std::string());
        batch.rows = static_cast<int64>(spi.execute(sql, {zc::pg::text_param("(" + std::to_string(start) + ",0)"),
                                                          zc::pg::text_param("(" + std::to_string(stop) + ",0)")}));
    }
    if (stop < batch.end_block) {
        batch.next_block = stop;
    } else {
        std::string metadata = "{\"table\": " + zc::core::json_string(qualified) +
                               ", \"column\": " + zc::core::json_string(col) +
                               ", \"blocks\": " + std::to_string(batch.end_block) + "}";
        zc::pg::write_system_log(
            spi, "INFO", "crypto: backfill of " + qualified + "." + zc::pg::quote_ident(col) + " finished", metadata);
    }
    return batch;
}

}  // namespace

ZC_FUNCTION(zc_encrypt_column_batch)
{
    zc::pg::require_arg(fcinfo, 0, "tbl");
    zc::pg::require_arg(fcinfo, 1, "col");
    zc::pg::require_arg(fcinfo, 2, "start_block");
    zc::pg::require_arg(fcinfo, 4, "batch_size");
    Oid relid = PG_GETARG_OID(0);
    std::string col = NameStr(*PG_GETARG_NAME(1));
    int64 start = PG_GETARG_INT64(2);
    std::optional<int64> end = PG_ARGISNULL(3) ? std::nullopt : std::optional<int64>(PG_GETARG_INT64(3));
    int32 batch_size = PG_GETARG_INT32(4);
    if (start < 0 || start > static_cast<int64>(MaxBlockNumber))
        throw zc::Error(zc::sqlstate::numeric_value_out_of_range, "argument \"start_block\" is out of range",
                        "it must be between 0 and " + std::to_string(MaxBlockNumber));
    if (end && (*end < 0 || *end > static_cast<int64>(MaxBlockNumber)))
        throw zc::Error(zc::sqlstate::numeric_value_out_of_range, "argument \"end_block\" is out of range");
    if (batch_size < 1 || batch_size > 1000000)
        throw zc::Error(zc::sqlstate::numeric_value_out_of_range,
                        "argument \"batch_size\" must be between 1 and 1000000", "it is " + std::to_string(batch_size));
    if (col.empty()) throw zc::Error(zc::sqlstate::invalid_parameter_value, "argument \"col\" must not be empty");
    Batch batch;
    if (zc::pg::in_recovery()) {
        zc::pg::notice("zerocut: encrypt_column_backfill() does nothing on a hot standby; run it on the primary");
    } else {
        batch = run_batch(relid, col, start, end, batch_size);
    }
    TupleDesc desc = nullptr;
    if (zc::pg::guard([&] { return get_call_result_type(fcinfo, nullptr, &desc); }) != TYPEFUNC_COMPOSITE)
        throw zc::Error(zc::sqlstate::internal_error, "encrypt_column_batch() must return a record");
    Datum values[3] = {Int64GetDatum(batch.next_block), Int64GetDatum(batch.end_block), Int64GetDatum(batch.rows)};
    bool nulls[3] = {batch.next_block < 0, false, false};
    Datum* value_ptr = values;
    bool* null_ptr = nulls;
    return zc::pg::guard([=] {
        TupleDesc blessed = BlessTupleDesc(desc);
        return HeapTupleGetDatum(heap_form_tuple(blessed, value_ptr, null_ptr));
    });
}
