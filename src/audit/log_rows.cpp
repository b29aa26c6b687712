// Writing rows to audit_log.system_log as the log's owner (the ri_triggers.c
// pattern), after log_table()'s checks: through the table access method
// (log_writer.cpp) when the log allows it and zerocut.audit_direct_insert
// is on, else through kept SPI plans of a set-based INSERT.
#include <optional>
#include <string>

#include "audit/audit_log_internal.hpp"
#include "core/errors.hpp"
#include "pg/boundary.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
}

namespace zc::audit {

namespace {

bool direct_insert_enabled = true;

zc::pg::OnLoad log_rows_on_load([] {
    DefineCustomBoolVariable("zerocut.audit_direct_insert",
                             "Lets the audit trigger append log rows through the table access method.",
                             "Off: every log row is written with an INSERT statement (for comparison and tests).",
                             &direct_insert_enabled, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
});

constexpr const char* insert_one_sql =
    "INSERT INTO audit_log.system_log (level, message, metadata, user_id) VALUES ('INFO', $1, $2, $3)";
// unnest() returns its elements in order and a function scan keeps it.
constexpr const char* insert_many_sql =
    "INSERT INTO audit_log.system_log (level, message, metadata, user_id) "
    "SELECT 'INFO', $1, m, $3 FROM pg_catalog.unnest($2::pg_catalog.jsonb[]) AS u(m)";
constexpr const char* insert_buffered_sql =
    "INSERT INTO audit_log.system_log (level, message, metadata, user_id) "
    "SELECT 'INFO', m, d, u FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), "
    "pg_catalog.unnest($2::pg_catalog.jsonb[]), pg_catalog.unnest($3::pg_catalog.int4[])) AS x(m, d, u)";

SPIPlanPtr insert_one_plan = nullptr;
SPIPlanPtr insert_many_plan = nullptr;
SPIPlanPtr insert_buffered_plan = nullptr;

SPIPlanPtr kept_plan(SPIPlanPtr* slot, const char* sql, const Oid* types)
{
    if (*slot != nullptr) return *slot;
    *slot = zc::pg::guard([=] {
        SPIPlanPtr plan = SPI_prepare(sql, 3, const_cast<Oid*>(types));
        if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(plan);
        return plan;
    });
    return *slot;
}

using zc::pg::AsLogOwner;

// The fast path when the log allows it (audit/log_writer.hpp); true when
// the rows are written.
bool try_direct(const LogTable& log, const LogRow* rows, int count)
{
    if (!direct_insert_enabled) return false;
    Oid relid = log.relid;
    AsLogOwner as_owner(log.owner);
    return zc::pg::guard([=] { return insert_log_rows_direct(relid, rows, count); });
}

// One LogRow per metadata item.  C-style: runs inside guard().
LogRow* rows_of_metadata(Jsonb* const* metadata, int count, Datum message, int32 user_id, bool user_null)
{
    auto* rows = static_cast<LogRow*>(palloc(sizeof(LogRow) * Max(count, 1)));
    for (int i = 0; i < count; ++i) rows[i] = LogRow{message, JsonbPGetDatum(metadata[i]), user_id, user_null};
    return rows;
}

// The metadata items as one jsonb[], the SQL path's parameter.  C-style:
// runs inside guard().
Datum metadata_array(Jsonb* const* metadata, int count)
{
    Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * Max(count, 1)));
    for (int i = 0; i < count; ++i) elements[i] = JsonbPGetDatum(metadata[i]);
    return PointerGetDatum(construct_array(elements, count, JSONBOID, -1, false, TYPALIGN_INT));
}

// The SQL path: a kept INSERT.
void run_insert(const LogTable& log, SPIPlanPtr* slot, const char* sql, const Oid* types, Datum* values,
                const char* nulls)
{
    zc::pg::SpiSession spi;
    SPIPlanPtr plan = kept_plan(slot, sql, types);
    int rc = 0;
    {
        AsLogOwner as_owner(log.owner);
        rc = zc::pg::guard([=] { return SPI_execute_plan(plan, values, nulls, false, 0); });
    }
    if (rc != SPI_OK_INSERT)
        throw zc::Error(zc::sqlstate::internal_error,
                        std::string("writing the audit log failed: ") + SPI_result_code_string(rc));
}

void insert_one(const LogTable& log, Datum message_datum, Datum metadata, Oid metadata_type, SPIPlanPtr* slot,
                const char* sql, std::optional<int32> user_id)
{
    Oid types[3] = {TEXTOID, metadata_type, INT4OID};
    Datum values[3] = {message_datum, metadata, Int32GetDatum(user_id.value_or(0))};
    char nulls[4] = {' ', ' ', user_id ? ' ' : 'n', '\0'};
    run_insert(log, slot, sql, types, values, nulls);
}

// The three parameters of insert_buffered_sql.  C-style: runs inside guard().
void arrays_of_rows(const LogRow* rows, int count, Datum* values)
{
    Datum* messages = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    Datum* metadata = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    Datum* users = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    bool* user_nulls = static_cast<bool*>(palloc(sizeof(bool) * count));
    for (int i = 0; i < count; ++i) {
        messages[i] = rows[i].message;
        metadata[i] = rows[i].metadata;
        users[i] = Int32GetDatum(rows[i].user_id);
        user_nulls[i] = rows[i].user_null;
    }
    int dims[1] = {count};
    int lbs[1] = {1};
    values[0] = PointerGetDatum(construct_array(messages, count, TEXTOID, -1, false, TYPALIGN_INT));
    values[1] = PointerGetDatum(construct_array(metadata, count, JSONBOID, -1, false, TYPALIGN_INT));
    values[2] = PointerGetDatum(construct_md_array(users, user_nulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
}

}  // namespace

void write_log_row(const char* message, Jsonb* metadata, std::optional<int32> user_id)
{
    LogTable log = log_table();
    LogRow row{zc::pg::guard([=] { return PointerGetDatum(cstring_to_text(message)); }), JsonbPGetDatum(metadata),
               user_id.value_or(0), !user_id.has_value()};
    if (try_direct(log, &row, 1)) return;
    insert_one(log, row.message, row.metadata, JSONBOID, &insert_one_plan, insert_one_sql, user_id);
}

void write_log_rows(const char* message, Jsonb* const* metadata, int count, std::optional<int32> user_id)
{
    LogTable log = log_table();
    Datum message_datum = zc::pg::guard([=] { return PointerGetDatum(cstring_to_text(message)); });
    if (direct_insert_enabled) {
        int32 user = user_id.value_or(0);
        bool user_null = !user_id.has_value();
        LogRow* rows = zc::pg::guard([=] { return rows_of_metadata(metadata, count, message_datum, user, user_null); });
        if (try_direct(log, rows, count)) return;
    }
    Datum array = zc::pg::guard([=] { return metadata_array(metadata, count); });
    insert_one(log, message_datum, array, JSONBARRAYOID, &insert_many_plan, insert_many_sql, user_id);
}

void write_buffered_rows(const LogRow* rows, int count)
{
    LogTable log = log_table();
    if (try_direct(log, rows, count)) return;
    // Three parallel arrays, one set-based INSERT.
    Datum values[3];
    zc::pg::guard([&] { arrays_of_rows(rows, count, values); });
    Oid types[3] = {TEXTARRAYOID, JSONBARRAYOID, INT4ARRAYOID};
    char nulls[4] = "   ";
    run_insert(log, &insert_buffered_plan, insert_buffered_sql, types, values, nulls);
}

}  // namespace zc::audit
