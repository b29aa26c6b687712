// The audit trigger's fast path into audit_log.system_log: rows go straight
// through the table access method, the way COPY and logical replication
// write them (routing to the month's partition, heap_multi_insert, index
// insertion, NOT NULL and CHECK constraints), with no SQL statement to
// parse, plan or start per row.  Only for a log shaped as the domain schema
// makes it; anything else (an INSERT trigger, an extra or generated column,
// a default partition, a foreign partition, other defaults) is left to the
// SQL path, which handles every case PostgreSQL allows.
#pragma once

#include "pg/postgres.hpp"

namespace zc::audit {

// One row for the log: level INFO, created_at = the transaction's start
// (CURRENT_TIMESTAMP), id from the log's sequence.
struct LogRow {
    Datum message;   // text
    Datum metadata;  // jsonb
    int32 user_id;
    bool user_null;
};

// Appends `count` rows to the log table `log`.  Returns false, having
// written nothing, when the log is not one this writer handles.  Runs as
// the caller (the audit trigger switches to the log's owner first).
// C-style: call inside guard().
bool insert_log_rows_direct(Oid log, const LogRow* rows, int count);

}  // namespace zc::audit
