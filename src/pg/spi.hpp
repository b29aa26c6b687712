// SPI from C++: an RAII session, $n parameters, kept plans, and a pinned
// search_path while our own SQL runs.  Every call goes through guard(), so a
// failing statement surfaces as a PgError carrying the original SQLSTATE.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "pg/postgres.hpp"

namespace zc::pg {

// One $n parameter: its type, value and NULL flag.
struct Param {
    Oid type;
    Datum value;
    bool is_null = false;
};

Param text_param(const std::string& value);  // the text is palloc'd
Param int4_param(int32 value);
Param int8_param(int64 value);

// SPI_connect on construction, SPI_finish on destruction.  When the scope is
// left by a PostgreSQL error (PgError), SPI_finish is skipped on purpose: the
// error reaches the boundary and the (sub)transaction abort cleans SPI up.
class SpiSession {
public:
    explicit SpiSession(bool nonatomic = false);
    ~SpiSession();
    SpiSession(const SpiSession&) = delete;
    SpiSession& operator=(const SpiSession&) = delete;

    // Runs `sql` (may hold several statements when there are no params).
    // Returns the number of rows processed by the last statement.
    uint64 execute(const std::string& sql, std::initializer_list<Param> params = {}, bool read_only = false);

    // Like execute(), through a plan prepared once per backend and kept.
    uint64 execute_cached(const std::string& sql, std::initializer_list<Param> params = {}, bool read_only = false);

    // First column of the first row of the last result, as text; nullopt for
    // NULL or no rows.
    std::optional<std::string> first_text() const;
    // All rows of the last result, one vector of column texts per row.
    std::vector<std::vector<std::optional<std::string>>> rows_text() const;

    // execute() then first_text().  read_only: see SPI_execute (a read-only
    // query does not see rows written earlier in the same call).
    std::optional<std::string> query_text(const std::string& sql, std::initializer_list<Param> params = {},
                                          bool read_only = false);

private:
    int entry_exceptions_;
};

// One result row: its columns as text, nullopt for NULL.
using Row = std::vector<std::optional<std::string>>;

// Runs `sql` with a run-time list of $n parameters and returns its rows as
// text (the SPI result is freed).  Read-write: it sees the rows and DDL
// this transaction wrote before (a read-only SPI call would not).
std::vector<Row> query(SpiSession& spi, const std::string& sql, const std::vector<Param>& params = {});

// Sets search_path to `pg_catalog, pg_temp` for the life of the object, so
// our internal SQL cannot be redirected by objects in the caller's schemas.
// set() changes further settings (e.g. client_min_messages) in the same scope.
class PinnedSearchPath {
public:
    PinnedSearchPath();
    void set(const char* name, const char* value);
    ~PinnedSearchPath();
    PinnedSearchPath(const PinnedSearchPath&) = delete;
    PinnedSearchPath& operator=(const PinnedSearchPath&) = delete;

private:
    int nest_level_;
    int entry_exceptions_;
};

// quote_identifier / quote_literal as std::string.
std::string quote_ident(const std::string& name);
std::string quote_literal(const std::string& value);
// "schema"."name" of a relation, by OID; throws zc::Error if it is gone.
std::string qualified_relation_name(Oid relid);
// The relation and, for a partition, the partitioned tables above it
// (nearest first) as an oid[] literal, "{relid,parent,...}": a text $n
// for `... = ANY ($1::text::oid[])`, so a registry row of a parent matches.
std::string self_and_ancestors_oid_array(Oid relid);

}  // namespace zc::pg
