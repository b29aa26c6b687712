// Row-mode buffering.
//
// A row-mode trigger whose table also carries the statement-level flush
// trigger (zerocut_audit_zz_flush, created by enable_audit) does not insert
// per row: it appends the row here, and the flush trigger, which fires after
// every row trigger of the statement, writes them with one INSERT.  Rows
// carry the subtransaction that made them: a flush writes only rows of the
// current subtransaction and its committed children (an outer
// subtransaction's rows wait for their own statement's flush), and a
// rolled-back subtransaction drops its rows.  Anything left at commit is
// written then.  Plain data in a context under TopTransactionContext.
#include "audit/audit_log_internal.hpp"
#include "pg/boundary.hpp"
#include "pg/module.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
}

namespace zc::audit {

namespace {

struct PendingRow {
    SubTransactionId subid;
    char* message;
    Jsonb* metadata;
    int32 user_id;
    bool user_null;
};

MemoryContext pending_context = nullptr;
PendingRow* pending = nullptr;
int pending_count = 0;
int pending_capacity = 0;
Size pending_bytes = 0;
constexpr Size pending_limit = 64 * 1024 * 1024;  // flush early past this

void forget_pending()
{
    pending_context = nullptr;  // freed with TopTransactionContext
    pending = nullptr;
    pending_count = pending_capacity = 0;
    pending_bytes = 0;
}

// Appends one row; C-style, runs inside guard().
void append_pending(const char* message, Jsonb* metadata, bool user_null, int32 user_id)
{
    if (pending_context == nullptr) {
        pending_context =
            AllocSetContextCreate(TopTransactionContext, "zerocut audit pending rows", ALLOCSET_DEFAULT_SIZES);
        pending_capacity = 1024;
        pending = static_cast<PendingRow*>(MemoryContextAlloc(pending_context, sizeof(PendingRow) * pending_capacity));
    }
    if (pending_count == pending_capacity) {
        pending_capacity *= 2;
        pending = static_cast<PendingRow*>(repalloc(pending, sizeof(PendingRow) * pending_capacity));
    }
    PendingRow* row = &pending[pending_count];
    row->subid = GetCurrentSubTransactionId();
    row->message = MemoryContextStrdup(pending_context, message);
    row->metadata = static_cast<Jsonb*>(MemoryContextAlloc(pending_context, VARSIZE(metadata)));
    memcpy(row->metadata, metadata, VARSIZE(metadata));
    row->user_id = user_id;
    row->user_null = user_null;
    pending_count++;
    pending_bytes += VARSIZE(metadata);
}

// pending[first ..] as log rows.  C-style: runs inside guard().
LogRow* rows_of_pending(int first, int count)
{
    auto* rows = static_cast<LogRow*>(palloc(sizeof(LogRow) * count));
    for (int i = 0; i < count; ++i) {
        const PendingRow* row = &pending[first + i];
        rows[i] = LogRow{PointerGetDatum(cstring_to_text(row->message)), JsonbPGetDatum(row->metadata), row->user_id,
                         row->user_null};
    }
    return rows;
}

// The rows a flush in the current subtransaction may write: a suffix.
int first_flushable()
{
    SubTransactionId current = GetCurrentSubTransactionId();
    int first = pending_count;
    while (first > 0 && pending[first - 1].subid >= current) --first;
    return first;
}

void xact_callback(XactEvent event, void*)
{
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
        case XACT_EVENT_PRE_PREPARE:
            if (pending_count > 0) {
                // A statement whose flush trigger did not fire (e.g. a write
                // addressed to a partition of an audited parent): write now.
                zc::pg::FailedCall failed;
                try {
                    flush_pending_rows();
                    return;
                } catch (...) {
                    zc::pg::capture_current_exception(failed);
                }
                zc::pg::raise_failed_call(failed);
            }
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PREPARE:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
            forget_pending();
            break;
        default:
            break;
    }
}

void subxact_callback(SubXactEvent event, SubTransactionId subid, SubTransactionId, void*)
{
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    while (pending_count > 0 && pending[pending_count - 1].subid >= subid) {
        pending_bytes -= VARSIZE(pending[pending_count - 1].metadata);
        pending_count--;
    }
}

zc::pg::OnLoad audit_xact_on_load([] {
    RegisterXactCallback(xact_callback, nullptr);
    RegisterSubXactCallback(subxact_callback, nullptr);
});

}  // namespace

// ------------------------------------------------------------ public ----

void buffer_log_row(const char* message, Jsonb* metadata, std::optional<int32> user_id)
{
    bool user_null = !user_id.has_value();
    int32 user = user_id.value_or(0);
    zc::pg::guard([=] { append_pending(message, metadata, user_null, user); });
    if (pending_bytes >= pending_limit) flush_pending_rows();
}

void flush_pending_rows()
{
    if (pending_count == 0) return;
    int first = first_flushable();
    int count = pending_count - first;
    if (count == 0) return;
    // The rows leave the buffer first (the SQL path's INSERT could fire
    // further triggers); their memory lasts until the transaction ends.
    LogRow* rows = zc::pg::guard([=] { return rows_of_pending(first, count); });
    for (int i = first; i < pending_count; ++i) pending_bytes -= VARSIZE(pending[i].metadata);
    pending_count = first;
    write_buffered_rows(rows, count);
}

}  // namespace zc::audit
