// zerocut.capacity_forecast(months integer DEFAULT 12)
//     RETURNS TABLE(tbl regclass, bytes_per_month bigint, projected_bytes bigint,
//                   months_until_full integer)
//
// Growth of every managed table partitioned by month (zerocut.partition_config),
// measured from its partitions: a monthly partition holds one month's new
// rows, so the mean total size (heap, TOAST, indexes) of the last three
// complete months is what the table grows per month.  projected_bytes is its
// size now plus `months` of that growth; months_until_full is how many whole
// months the free space of the data directory's file system (statvfs, as
// the server's user sees it) lasts at the growth of all these tables
// together, NULL when it cannot be read or nothing grows.  Runs as its
// caller (size functions and catalogs need no table privilege); changes
// nothing.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/statvfs.h>

#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/tuplestore.h"
}

namespace {

struct Growth {
    Oid relid;
    int64_t current_bytes;
    std::optional<int64_t> bytes_per_month;
};

std::vector<Growth> read_growth()
{
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    spi.execute(R"SQL(
WITH managed AS (
    SELECT c.parent::pg_catalog.oid AS parent, c.time_zone,
           a.atttypid = 'pg_catalog.timestamptz'::pg_catalog.regtype AS with_zone
    FROM zerocut.partition_config c
    JOIN pg_catalog.pg_class p ON p.oid = c.parent AND p.relkind = 'p'
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.parent AND a.attname = c.control_column AND NOT a.attisdropped
    WHERE c.granularity = 'month'
), part AS (
    SELECT m.parent, m.with_zone, m.time_zone,
           pg_catalog.substring(pg_catalog.pg_get_expr(k.relpartbound, k.oid), $re$ TO \('([^']*)'\)$$re$) AS upper_text,
           (SELECT pg_catalog.sum(pg_catalog.pg_total_relation_size(t.relid))
            FROM pg_catalog.pg_partition_tree(k.oid) t)::bigint AS bytes
    FROM managed m
    JOIN pg_catalog.pg_inherits i ON i.inhparent = m.parent
    JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
), bounded AS (
    SELECT p.parent, p.bytes,
           CASE WHEN p.with_zone THEN p.upper_text::pg_catalog.timestamptz
                ELSE p.upper_text::pg_catalog.timestamp AT TIME ZONE p.time_zone END AS upper_at
    FROM part p
), recent AS (
    SELECT b.parent, b.bytes,
           pg_catalog.row_number() OVER (PARTITION BY b.parent ORDER BY b.upper_at DESC) AS n
    FROM bounded b
    WHERE b.upper_at <= pg_catalog.now()
)
SELECT m.parent,
       coalesce((SELECT pg_catalog.sum(p.bytes) FROM part p WHERE p.parent = m.parent), 0)::bigint,
       (SELECT pg_catalog.round(pg_catalog.avg(r.bytes)) FROM recent r WHERE r.parent = m.parent AND r.n <= 3)::bigint
FROM managed m
ORDER BY m.parent::pg_catalog.regclass::pg_catalog.text COLLATE "C"
)SQL",
                {}, true);
    std::vector<Growth> result;
    for (const auto& row : spi.rows_text()) {
        Growth g{static_cast<Oid>(std::stoul(row[0].value_or("0"))), std::stoll(row[1].value_or("0")), std::nullopt};
        if (row[2]) g.bytes_per_month = std::stoll(*row[2]);
        result.push_back(g);
    }
    return result;
}

// Bytes an unprivileged user may still write on the file system holding the
// data directory; nullopt when statvfs fails.
std::optional<int64_t> data_directory_free_bytes()
{
    struct statvfs fs {};
    if (DataDir == nullptr || statvfs(DataDir, &fs) != 0) return std::nullopt;
    long double bytes = static_cast<long double>(fs.f_bavail) * static_cast<long double>(fs.f_frsize);
    if (bytes > static_cast<long double>(std::numeric_limits<int64_t>::max()))
        return std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(bytes);
}

}  // namespace

ZC_FUNCTION(zc_capacity_forecast)
{
    zc::pg::require_arg(fcinfo, 0, "months");
    int32 months = PG_GETARG_INT32(0);
    if (months < 1 || months > 1200)
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        fmt::format("argument \"months\" must be between 1 and 1200 ({} given)", months));

    std::vector<Growth> tables = read_growth();
    std::optional<int64_t> free_bytes = data_directory_free_bytes();
    long double total_growth = 0;
    for (const Growth& g : tables)
        if (g.bytes_per_month && *g.bytes_per_month > 0) total_growth += static_cast<long double>(*g.bytes_per_month);
    std::optional<int32> months_until_full;
    if (free_bytes && total_growth > 0) {
        long double whole = std::floor(static_cast<long double>(*free_bytes) / total_growth);
        months_until_full =
            whole > std::numeric_limits<int32>::max() ? std::numeric_limits<int32>::max() : static_cast<int32>(whole);
    }

    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const Growth& g : tables) {
        long double projected = static_cast<long double>(g.current_bytes);
        if (g.bytes_per_month) projected += static_cast<long double>(*g.bytes_per_month) * months;
        int64_t projected_bytes = projected > static_cast<long double>(std::numeric_limits<int64_t>::max())
                                      ? std::numeric_limits<int64_t>::max()
                                      : static_cast<int64_t>(projected);
        Datum values[4] = {ObjectIdGetDatum(g.relid), Int64GetDatum(g.bytes_per_month.value_or(0)),
                           Int64GetDatum(projected_bytes), Int32GetDatum(months_until_full.value_or(0))};
        bool nulls[4] = {false, !g.bytes_per_month, false, !months_until_full};
        Datum* value_ptr = values;
        bool* null_ptr = nulls;
        zc::pg::guard([=] { tuplestore_putvalues(result->setResult, result->setDesc, value_ptr, null_ptr); });
    }
    return (Datum)0;
}
