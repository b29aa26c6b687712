#include "pg/spi.hpp"

#include <exception>
#include <span>
#include <string>
#include <unordered_map>

#include "core/errors.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "utils/lsyscache.h"
}

namespace zc::pg {

namespace {

std::vector<Oid> param_types(std::span<const Param> params)
{
    std::vector<Oid> types;
    for (const Param& p : params) types.push_back(p.type);
    return types;
}

void fill_values(std::span<const Param> params, std::vector<Datum>& values, std::vector<char>& nulls)
{
    for (const Param& p : params) {
        values.push_back(p.value);
        nulls.push_back(p.is_null ? 'n' : ' ');
    }
}

void check_spi_result(int rc, const std::string& sql)
{
    if (rc < 0)
        throw Error(sqlstate::internal_error, "SPI failed (" + std::string(SPI_result_code_string(rc)) + ")",
                    "statement: " + sql.substr(0, 200));
}

// SPI_execute, or SPI_execute_with_args when there are parameters; returns
// the number of rows processed.
uint64 run(const std::string& sql, std::span<const Param> params, bool read_only)
{
    const char* text = sql.c_str();
    int rc;
    if (params.empty()) {
        rc = guard([=] { return SPI_execute(text, read_only, 0); });
    } else {
        std::vector<Oid> types = param_types(params);
        std::vector<Datum> values;
        std::vector<char> nulls;
        fill_values(params, values, nulls);
        int count = static_cast<int>(types.size());
        Oid* type_ptr = types.data();
        Datum* value_ptr = values.data();
        const char* null_ptr = nulls.data();
        rc = guard([=] { return SPI_execute_with_args(text, count, type_ptr, value_ptr, null_ptr, read_only, 0); });
    }
    check_spi_result(rc, sql);
    return SPI_processed;
}

}  // namespace

Param text_param(const std::string& value)
{
    const char* data = value.c_str();
    int length = static_cast<int>(value.size());
    Datum datum = guard([=] { return PointerGetDatum(cstring_to_text_with_len(data, length)); });
    return Param{TEXTOID, datum, false};
}

Param int4_param(int32 value)
{
    return Param{INT4OID, Int32GetDatum(value), false};
}
Param int8_param(int64 value)
{
    return Param{INT8OID, Int64GetDatum(value), false};
}

SpiSession::SpiSession(bool nonatomic) : entry_exceptions_(std::uncaught_exceptions())
{
    int options = nonatomic ? SPI_OPT_NONATOMIC : 0;
    int rc = guard([=] { return SPI_connect_ext(options); });
    if (rc != SPI_OK_CONNECT) throw Error(sqlstate::internal_error, "SPI_connect failed");
}

SpiSession::~SpiSession()
{
    // A PostgreSQL error in flight: the (sub)transaction abort cleans SPI up.
    if (std::uncaught_exceptions() > entry_exceptions_ && pg_error_in_flight()) return;
    SPI_finish();
}

uint64 SpiSession::execute(const std::string& sql, std::initializer_list<Param> params, bool read_only)
{
    return run(sql, std::span<const Param>(params.begin(), params.size()), read_only);
}

std::vector<Row> query(SpiSession& spi, const std::string& sql, const std::vector<Param>& params)
{
    run(sql, params, false);
    std::vector<Row> rows = spi.rows_text();
    SPITupleTable* table = SPI_tuptable;
    if (table != nullptr) guard([=] { SPI_freetuptable(table); });
    return rows;
}

uint64 SpiSession::execute_cached(const std::string& sql, std::initializer_list<Param> params, bool read_only)
{
    // Plans live for the backend's life; plancache revalidates them when a
    // relation they use changes.
    // Keyed by the text and the parameter types: the same text with other
    // types must not reuse a plan.  Meant for constant SQL: it never shrinks.
    static std::unordered_map<std::string, SPIPlanPtr> plans;
    std::string key = sql;
    for (const Param& p : params) key += "\x1f" + std::to_string(p.type);
    SPIPlanPtr plan = nullptr;
    if (auto found = plans.find(key); found != plans.end()) {
        plan = found->second;
    } else {
        std::vector<Oid> types = param_types(params);
        const char* text = sql.c_str();
        int count = static_cast<int>(types.size());
        Oid* type_ptr = types.data();
        plan = guard([=] {
            SPIPlanPtr prepared = SPI_prepare(text, count, type_ptr);
            if (prepared == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
            SPI_keepplan(prepared);
            return prepared;
        });
        plans.emplace(std::move(key), plan);
    }
    std::vector<Datum> values;
    std::vector<char> nulls;
    fill_values(params, values, nulls);
    Datum* value_ptr = values.data();
    const char* null_ptr = nulls.data();
    int rc = guard([=] { return SPI_execute_plan(plan, value_ptr, null_ptr, read_only, 0); });
    check_spi_result(rc, sql);
    return SPI_processed;
}

std::optional<std::string> SpiSession::first_text() const
{
    if (SPI_tuptable == nullptr || SPI_processed == 0) return std::nullopt;
    SPITupleTable* table = SPI_tuptable;
    char* value = guard([=] { return SPI_getvalue(table->vals[0], table->tupdesc, 1); });
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

std::vector<std::vector<std::optional<std::string>>> SpiSession::rows_text() const
{
    std::vector<std::vector<std::optional<std::string>>> rows;
    if (SPI_tuptable == nullptr) return rows;
    SPITupleTable* table = SPI_tuptable;
    int columns = table->tupdesc->natts;
    for (uint64 row = 0; row < SPI_processed; ++row) {
        std::vector<std::optional<std::string>> values;
        for (int column = 1; column <= columns; ++column) {
            HeapTuple tuple = table->vals[row];
            char* value = guard([=] { return SPI_getvalue(tuple, table->tupdesc, column); });
            values.push_back(value ? std::optional<std::string>(value) : std::nullopt);
        }
        rows.push_back(std::move(values));
    }
    return rows;
}

std::optional<std::string> SpiSession::query_text(const std::string& sql, std::initializer_list<Param> params,
                                                  bool read_only)
{
    execute(sql, params, read_only);
    return first_text();
}

PinnedSearchPath::PinnedSearchPath() : nest_level_(0), entry_exceptions_(std::uncaught_exceptions())
{
    nest_level_ = guard([] {
        int level = NewGUCNestLevel();
        set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                          false);
        return level;
    });
}

void PinnedSearchPath::set(const char* name, const char* value)
{
    guard([=] { set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false); });
}

PinnedSearchPath::~PinnedSearchPath()
{
    // A PostgreSQL error in flight: the (sub)transaction abort restores it.
    if (std::uncaught_exceptions() > entry_exceptions_ && pg_error_in_flight()) return;
    AtEOXact_GUC(true, nest_level_);
}

std::string quote_ident(const std::string& name)
{
    const char* raw = name.c_str();
    const char* quoted = guard([=] { return quote_identifier(raw); });
    return std::string(quoted);
}

std::string quote_literal(const std::string& value)
{
    const char* raw = value.c_str();
    const char* quoted = guard([=] { return quote_literal_cstr(raw); });
    return std::string(quoted);
}

std::string qualified_relation_name(Oid relid)
{
    char* name = guard([=] { return get_rel_name(relid); });
    if (name == nullptr)
        throw Error(sqlstate::undefined_table, "relation with OID " + std::to_string(relid) + " does not exist");
    Oid namespace_oid = guard([=] { return get_rel_namespace(relid); });
    char* schema = guard([=] { return get_namespace_name(namespace_oid); });
    return quote_ident(schema ? schema : "") + "." + quote_ident(name);
}

std::string self_and_ancestors_oid_array(Oid relid)
{
    std::string oids = "{" + std::to_string(relid);
    std::vector<Oid> ancestors;
    guard([&ancestors, relid] {
        if (!get_rel_relispartition(relid)) return;
        List* list = get_partition_ancestors(relid);
        ListCell* cell;
        foreach (cell, list) ancestors.push_back(lfirst_oid(cell));
        list_free(list);
    });
    for (Oid ancestor : ancestors) oids += "," + std::to_string(ancestor);
    return oids + "}";
}

}  // namespace zc::pg
