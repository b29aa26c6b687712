// The private part of audit_log.hpp, included only by the files behind it:
// the column metadata audit_relation.cpp builds and change_jsonb.cpp reads,
// the checked log table (log_table.cpp) the writers use, the hand-over from
// the row buffer to the writer, and the cache resets that the invalidation
// callbacks (audit_relation.cpp) call.
#pragma once

#include "audit/audit_log.hpp"
#include "audit/log_writer.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "fmgr.h"
#include "pgtime.h"
}

namespace zc::audit {

// How one column's value becomes a JsonbValue.
enum ColumnKind {
    kind_bool,
    kind_int2,
    kind_int4,
    kind_int8,
    kind_numeric,
    kind_text,
    kind_jsonb,
    kind_datetime,
    kind_generic
};

struct AuditColumn {
    AttrNumber attnum;
    char* name;
    int name_len;
    Oid base_type;
    int16 typlen;
    bool typbyval;
    ColumnKind kind;
    bool hidden;         // excluded or redacted: the value never reaches the log
    bool excluded;       // a change to it alone does not make a log row
    FmgrInfo* to_jsonb;  // kind_generic: to_jsonb() with the column's type
    // kind_datetime: the last value converted and its text (MAXDATELEN + 1
    // bytes), reused for an equal value under the same TimeZone: a
    // statement's rows often share a timestamp (now() of the statement that
    // wrote them).  date, timestamp and timestamptz are by-value Datums.
    mutable bool has_last_datetime;
    mutable Datum last_datetime;
    mutable pg_tz* last_timezone;
    char* last_datetime_text;
};
static_assert(FLOAT8PASSBYVAL, "the date/time cache compares timestamp Datums by value");

// ------------------------------------------------ log_table.cpp ----

// The log table and its owner.
struct LogTable {
    Oid relid;
    Oid owner;
};

// audit_log.system_log locked (ROW EXCLUSIVE) and found acceptable, as
// require_usable_log() checks it; the check is cached until the log's
// relcache entry or any role changes.
LogTable log_table();

// Forgets the cached check when `relid` is the log checked (InvalidOid:
// whatever it was).
void forget_checked_log(Oid relid);

// ---------------------------------------------- change_jsonb.cpp ----

// Forgets the cached session_user and current_user names.
void forget_role_names();

// -------------------------------------------------- log_rows.cpp ----

// Writes rows the row buffer has taken out of its buffer: through the
// direct path, or as one set-based INSERT.
void write_buffered_rows(const LogRow* rows, int count);

}  // namespace zc::audit
