// The audit trigger's machinery, shared by its entry points
// (audit_trigger_function.cpp, enable_audit.cpp); what only its own files
// share is in audit_log_internal.hpp:
//  - audit_relation.cpp: per-trigger metadata (columns, their jsonb
//    conversion, which are excluded or redacted, the primary key, the
//    audited table's name), cached by trigger OID and invalidated by a
//    relcache callback and by changes of zerocut.audit_redact_columns;
//  - change_jsonb.cpp: building the metadata jsonb of one change directly
//    as JsonbValues;
//  - log_table.cpp: finding, locking and checking audit_log.system_log:
//    only a log zerocut's installer made (never creating one);
//  - log_rows.cpp: writing log rows as the log table's owner (the
//    ri_triggers.c pattern), directly (log_writer.cpp) or through kept SPI
//    plans;
//  - row_buffer.cpp: row mode's buffer, written by the flush trigger or at
//    commit.
#pragma once

#include <optional>

#include "pg/postgres.hpp"

extern "C" {
#include "utils/numeric.h"
}

extern "C" {
#include "utils/jsonb.h"
}

namespace zc::audit {

struct AuditColumn;

// Everything the trigger needs about one (trigger, relation) pair.  Plain
// data palloc'd in its own memory context; never freed while in use: the
// relcache callback only marks it stale, the next lookup rebuilds it.
struct AuditRelation {
    Oid trigger_oid;
    Oid relid;          // the trigger's relation
    Oid audited_relid;  // the audited table: the partitioned root for a cloned trigger
    bool valid;
    unsigned long redact_generation;
    MemoryContext context;
    bool changed_only;
    char* schema_name;  // the audited table: the partitioned root for a cloned trigger
    char* table_name;
    Numeric relid_number;  // audited_relid as a jsonb number
    int ncolumns;
    AuditColumn* columns;  // live (not dropped) attributes in attnum order
    int* key_order;        // indexes into columns, in jsonb's key order (see jsonb_key_less)
    int npk;
    int* pk;  // indexes into columns, in jsonb's key order
    // TRIGGER_TYPE_INSERT/UPDATE/DELETE bits covered by an enabled flush
    // trigger on the same relation: those row events are buffered.
    int16 flush_events;
    // "<table> record created|updated|deleted", "<table> truncated"
    char* message_insert;
    char* message_update;
    char* message_delete;
    char* message_truncate;
};

// The cached metadata of the trigger now firing; builds it when missing or stale.
AuditRelation* audit_relation(TriggerData* data);

// What one change produces: the jsonb metadata, or nullptr when the change
// is not logged (changed_only UPDATE that changes nothing counted).
// `old_values`/`new_values` are deformed tuples of the relation's descriptor.
// Runs inside guard(); holds no C++ objects.
Jsonb* build_change(AuditRelation* rel, const char* operation, Datum* old_values, bool* old_nulls, Datum* new_values,
                    bool* new_nulls);
Jsonb* build_truncate(AuditRelation* rel);

// Throws unless audit_log.system_log exists (42P01) and is the log zerocut's
// installer made (42501): owned by a superuser or the extension's owner,
// RANGE-partitioned by created_at, with zerocut's columns and its enabled
// guard triggers.  The writer checks the same before its first write and
// again after the log or any role changes.
void require_usable_log();

// Appends one row, or one row per element of `metadata` (one set-based
// INSERT on the SQL path), to audit_log.system_log as its owner, after
// require_usable_log()'s checks (cached).
void write_log_row(const char* message, Jsonb* metadata, std::optional<int32> user_id);
void write_log_rows(const char* message, Jsonb* const* metadata, int count, std::optional<int32> user_id);

// Row mode with the flush trigger present: keeps the row until the flush
// trigger fires at the end of the statement (or commit, or 64 MB).
void buffer_log_row(const char* message, Jsonb* metadata, std::optional<int32> user_id);
// Writes the buffered rows of the current subtransaction with one INSERT.
void flush_pending_rows();

}  // namespace zc::audit
